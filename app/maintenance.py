"""Housekeeping every app process runs hourly: expired sessions, stale drafts, old rate-limit rows,
stored files that no row names.

Each step is idempotent, so several processes running it at once only repeat harmless deletes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.accounts.ratelimit import purge_old_hits
from app.accounts.sessions import purge_expired_sessions
from app.incidents.attachments import sweep_orphan_files
from app.incidents.wizard import purge_stale_drafts

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 3600


async def run_maintenance() -> dict[str, int]:
    """One round of housekeeping; returns what it removed."""
    sessions = await purge_expired_sessions()
    drafts = await purge_stale_drafts()
    await purge_old_hits()
    orphans = await sweep_orphan_files()
    return {"sessions": sessions, "drafts": drafts, "orphan_files": orphans}


async def _loop() -> None:
    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        try:
            removed = await run_maintenance()
            log.info("maintenance: %s", removed)
        except Exception:  # never let housekeeping take the process down; try again next hour
            log.exception("maintenance round failed")


@asynccontextmanager
async def maintenance_task(_app) -> AsyncIterator[None]:
    """Lifespan: the hourly housekeeping loop of this process."""
    task = asyncio.create_task(_loop(), name="maintenance")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
