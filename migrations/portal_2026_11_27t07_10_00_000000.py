"""incident.reseller: the reseller handling the incident, copied from its contract.

Added nullable here, filled and made NOT NULL by the next migration (raw steps run before a
migration's table operations, so the fill needs a migration of its own after this one).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-27T07:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "incident.reseller, nullable for now"


class Reseller(Table, tablename="reseller", schema=None):
    pass


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Incident",
        tablename="incident",
        column_name="reseller",
        db_column_name="reseller",
        column_class_name="ForeignKey",
        column_class=ForeignKey,
        params={
            "references": Reseller,
            "on_delete": OnDelete.restrict,
            "on_update": OnUpdate.cascade,
            "target_column": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
