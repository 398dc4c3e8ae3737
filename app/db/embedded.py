"""The embedded PostgreSQL (pgserver) used when DATABASE_URL is not set: development and tests."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded_postgres(pgdata: Path, *, delete_on_exit: bool = False):
    """Start (or reuse) a PostgreSQL whose data lives in `pgdata`; it stops when this process exits.

    Returns the pgserver handle; `handle.get_uri()` is the connection string.
    """
    import pgserver  # imported late: production deployments never load it

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    log.info("embedded PostgreSQL running with data in %s", pgdata)
    return server
