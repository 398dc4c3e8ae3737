"""The reseller queue without a join per incident (docs/PERFORMANCE.md, issue 8).

The queue lists a reseller's incidents, last activity first. It used to reach the reseller
through the contract, so PostgreSQL had to join and count every incident of the reseller before
it could return 25 of them. `incident.reseller` lets an index hand out the page in order.

What keeps the copy true:
- a trigger fills it from the contract on insert (and if an incident ever moves to another
  contract), so no code path can forget it;
- a composite foreign key (contract, reseller) → contract (id, reseller) makes a disagreeing
  value impossible, and ON UPDATE CASCADE carries a contract handed to another reseller over to
  its incidents.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey
from piccolo.engine import engine_finder

ID = "2026-11-27T07:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "incident.reseller filled, kept true, and the queue's indexes"

STATEMENTS = (
    """CREATE FUNCTION incident_reseller_from_contract() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           SELECT reseller INTO NEW.reseller FROM contract WHERE id = NEW.contract;
           RETURN NEW;
       END $$""",
    """CREATE TRIGGER incident_reseller BEFORE INSERT OR UPDATE OF contract ON incident
       FOR EACH ROW EXECUTE FUNCTION incident_reseller_from_contract()""",
    "UPDATE incident i SET reseller = c.reseller FROM contract c WHERE c.id = i.contract",
    "CREATE UNIQUE INDEX contract_id_reseller ON contract (id, reseller)",
    """ALTER TABLE incident ADD CONSTRAINT incident_reseller_matches_contract
       FOREIGN KEY (contract, reseller) REFERENCES contract (id, reseller) ON UPDATE CASCADE""",
    # the queue: all submitted incidents, the open ones, one status, one assignee; each in page order
    """CREATE INDEX incident_reseller_queue ON incident (reseller, last_activity_at DESC, id DESC)
       WHERE status <> 'draft'""",
    """CREATE INDEX incident_reseller_open ON incident (reseller, last_activity_at DESC, id DESC)
       WHERE status IN ('new', 'in_progress', 'waiting_customer')""",
    """CREATE INDEX incident_reseller_status ON incident (reseller, status, last_activity_at DESC, id DESC)
       WHERE status <> 'draft'""",
    # replaced by the four above: it served the queue before it could reach the reseller directly
    "DROP INDEX incident_activity",
    """CREATE INDEX incident_assignee_queue ON incident (assignee, last_activity_at DESC, id DESC)
       WHERE status <> 'draft'""",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def fill_and_constrain() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(fill_and_constrain)
    manager.alter_column(
        table_class_name="Incident",
        tablename="incident",
        column_name="reseller",
        db_column_name="reseller",
        params={"null": False},
        old_params={"null": True},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )
    return manager
