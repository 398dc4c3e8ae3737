"""Apply Piccolo migrations from code (make run, tests) rather than through a subprocess."""

from __future__ import annotations

from piccolo.apps.migrations.commands.forwards import run_forwards


async def migrate() -> None:
    """Bring the database to the latest migration; raises if one fails."""
    result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
