"""Telling "PostgreSQL is away" (restart, failover, network) from a wrong query.

The first is worth a 503 page and a retry, the second is a bug (500). A server that stops closes
every connection under the app and refuses new ones; asyncpg reports that with several classes,
and with plain OSError when the connection cannot even be opened (no socket file, unreachable host).
"""

from __future__ import annotations

import traceback

import asyncpg

_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,  # the connection failed or was lost mid-query
    asyncpg.OperatorInterventionError,  # shutting down, starting up, administrator's termination
    asyncpg.InterfaceError,  # "connection is closed", a pool closing
    asyncpg.InternalClientError,  # a pooled connection left in a failed state by a server's exit
    ConnectionError,  # refused or reset while connecting
)


def database_unreachable(error: BaseException) -> bool:
    """True when `error` means PostgreSQL cannot be reached now, rather than a query being wrong."""
    if isinstance(error, _UNAVAILABLE):
        return True
    # FileNotFoundError for a Unix socket that left with its server, TimeoutError, EHOSTUNREACH:
    # the database's only when asyncpg raised it (a missing attachment file is another matter).
    return isinstance(error, OSError) and any(
        frame.f_globals.get("__name__", "").startswith("asyncpg.")
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )
