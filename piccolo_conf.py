"""Piccolo's configuration: one engine on DATABASE_URL, one app whose migrations live in migrations/."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from app.config import settings

DB = PostgresEngine(
    config={"dsn": settings.database_url},
    extensions=(),
)

APP_REGISTRY = AppRegistry(apps=["app.db.piccolo_app"])
