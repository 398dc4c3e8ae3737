"""The one Piccolo app of the project; its migrations live in the top-level migrations/ folder."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(Path(__file__).resolve().parents[2] / "migrations"),
    table_classes=table_finder(modules=["app.db.tables"], exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)
