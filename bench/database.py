"""The benchmark's PostgreSQL: BENCH_DATABASE_URL as given, or an embedded one (pgserver) under
BENCH_DIR, tuned once for a 2-core, 24 GiB machine; the data lives in one database, recreated
by each generation."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(os.environ.get("BENCH_DIR", ROOT / "var" / "bench"))
DATABASE_NAME = os.environ.get("BENCH_DATABASE_NAME", "portal_bench")  # dropped and recreated by each generation

# Applied to the embedded server only; a server given by BENCH_DATABASE_URL keeps its own.
SERVER_SETTINGS = {
    "shared_buffers": "2GB",
    "effective_cache_size": "12GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "max_connections": "200",
    "random_page_cost": "1.1",
    "jit": "off",
}

_embedded = None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_url() -> str:
    """A URL of the server (its maintenance database), starting the embedded one when needed."""
    global _embedded
    if url := os.environ.get("BENCH_DATABASE_URL"):
        return url
    if _embedded is None:
        import asyncio

        import asyncpg
        import pgserver

        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        pgdata = BENCH_DIR / "postgres"
        _embedded = pgserver.get_server(pgdata, cleanup_mode="stop")

        async def tune() -> bool:
            connection = await asyncpg.connect(_embedded.get_uri())
            try:
                changed = False
                for name, value in SERVER_SETTINGS.items():
                    current = await connection.fetchval(
                        "SELECT setting FROM pg_file_settings WHERE name = $1 AND applied "
                        "ORDER BY seqno DESC LIMIT 1", name)
                    if current != value:
                        await connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                        changed = True
                return changed
            finally:
                await connection.close()

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:  # a thread: the caller may be inside an event loop
            changed = pool.submit(asyncio.run, tune()).result()
        if changed:
            _embedded.cleanup()  # stop, then start again with the settings
            _embedded = pgserver.get_server(pgdata, cleanup_mode="stop")
    return _embedded.get_uri()


def bench_url() -> str:
    """The URL of the benchmark's database (which may not exist yet)."""
    return _with_database(server_url(), DATABASE_NAME)


async def recreate_database() -> str:
    """Drop and create the benchmark database; returns its URL."""
    import asyncpg

    connection = await asyncpg.connect(server_url())
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    finally:
        await connection.close()
    return bench_url()


def stop_embedded() -> None:
    global _embedded
    if _embedded is not None:
        _embedded.cleanup()
        _embedded = None
