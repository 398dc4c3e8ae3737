"""The reseller's Contrats list from an index in page order (docs/PERFORMANCE.md).

The list shows a reseller's contracts newest first. With only `contract (reseller)` PostgreSQL
read and sorted all of them for every page: 53 ms for the reseller of 100,000 contracts.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index for the reseller's contract list"

STATEMENTS = (
    "CREATE INDEX contract_reseller_list ON contract (reseller, created_at DESC, id DESC)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_index() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_index)
    return manager
