"""Persistence: Piccolo tables, the engine's start and stop, migrations, the embedded PostgreSQL."""
