"""Indexes the benchmark asked for (docs/PERFORMANCE.md): the reseller queue's unread marker and
the Mes contrats page order."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T05:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for the queue's unread marker and the contract list order"

STATEMENTS = (
    # EXISTS (unread notification of me on this incident), probed once per queue row
    "CREATE INDEX notification_unread_by_incident ON notification (recipient, incident) WHERE read_at IS NULL",
    # Mes contrats: a company's contracts in page order, so page 1 reads 25 rows, not all of them
    "CREATE INDEX contract_company_order ON contract (company, ends_on DESC, number)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_indexes() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_indexes)
    return manager
