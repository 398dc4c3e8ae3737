"""contract.search_text: what the contract searches look in, kept by triggers (issue 8).

*Mes contrats* and the reseller's *Contrats* match a query on the contract's number, product
reference and the serial of any of its articles. That was an EXISTS probe into article for every
contract of the company (or the reseller: 100,000 contracts) on every keystroke. One upper-cased
column per contract turns it into one LIKE per row.

Kept true by triggers, whatever writes: a contract's own insert or change of number or reference
(BEFORE, on the row), any insert, change or removal of an article (AFTER, on its contract).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T07:41:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contract.search_text: triggers and fill"

STATEMENTS = (
    """CREATE FUNCTION contract_search_text(p_contract integer, p_number text, p_reference text) RETURNS text
       LANGUAGE sql STABLE AS $$
           SELECT upper(p_number || ' ' || p_reference || coalesce(
               (SELECT ' ' || string_agg(serial_number, ' ' ORDER BY id) FROM article WHERE contract = p_contract), ''))
       $$""",
    """CREATE FUNCTION contract_search_text_of_row() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           NEW.search_text := contract_search_text(NEW.id, NEW.number, NEW.product_reference);
           RETURN NEW;
       END $$""",
    """CREATE TRIGGER contract_search_text BEFORE INSERT OR UPDATE OF number, product_reference ON contract
       FOR EACH ROW EXECUTE FUNCTION contract_search_text_of_row()""",
    """CREATE FUNCTION contract_search_text_from_articles() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           UPDATE contract c SET search_text = contract_search_text(c.id, c.number, c.product_reference)
           WHERE c.id IN (CASE WHEN TG_OP <> 'DELETE' THEN NEW.contract END,
                          CASE WHEN TG_OP <> 'INSERT' THEN OLD.contract END);
           RETURN NULL;
       END $$""",
    """CREATE TRIGGER article_search_text AFTER INSERT OR DELETE OR UPDATE OF serial_number, contract ON article
       FOR EACH ROW EXECUTE FUNCTION contract_search_text_from_articles()""",
    "UPDATE contract SET search_text = contract_search_text(id, number, product_reference)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def triggers_and_fill() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(triggers_and_fill)
    return manager
