"""Mes incidents filtered by state, from an index in page order (docs/PERFORMANCE.md).

`incident_company_list (company, submitted_at DESC)` serves the unfiltered list; filtered by a
state, PostgreSQL had to read every incident of the company from the table to check its status
(1.7 ms for the count alone for a company of 870 incidents).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T08:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Index for Mes incidents filtered by state"

STATEMENTS = (
    """CREATE INDEX incident_company_status_list ON incident (company, status, submitted_at DESC, id DESC)
       WHERE status <> 'draft'""",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_index() -> None:
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(add_index)
    return manager
