"""Test harness: a real PostgreSQL, the real app over ASGI, one event loop for the whole session.

The database is, in order of preference: TEST_DATABASE_URL as given; a throwaway database
created on the server of DATABASE_URL and dropped afterwards; an embedded PostgreSQL (pgserver)
in a temporary folder. Every test starts from empty tables (truncated after each test), with
real commits, so that constraints, transactions and NOTIFY behave as in production.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

_state: dict[str, object] = {}


def _throwaway_database(server_url: str) -> str:
    import asyncpg

    name = f"portal_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(create())
    _state["drop"] = (server_url, name)
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def pytest_configure(config: pytest.Config) -> None:
    """Choose the database and the writable folders before any app module reads the settings."""
    scratch = Path(tempfile.mkdtemp(prefix="portal-tests-"))
    _state["scratch"] = scratch
    os.environ["VAR_DIR"] = str(scratch / "var")
    os.environ["SECRET_KEY"] = "test-secret-key-not-for-production"
    os.environ["BASE_URL"] = "http://testserver"
    # A cheap argon2id profile: tests hash and verify hundreds of passwords; production keeps the
    # RFC 9106 default (ARGON2_* unset). The live servers inherit it.
    os.environ.setdefault("ARGON2_TIME_COST", "1")
    os.environ.setdefault("ARGON2_MEMORY_KIB", "1024")
    os.environ.setdefault("ARGON2_PARALLELISM", "1")
    os.environ.pop("SMTP_URL", None)
    if url := os.environ.get("TEST_DATABASE_URL"):
        os.environ["DATABASE_URL"] = url
    elif url := os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = _throwaway_database(url)
    else:
        from app.db.embedded import start_embedded_postgres

        server = start_embedded_postgres(scratch / "postgres", delete_on_exit=True)
        _state["embedded"] = server
        os.environ["DATABASE_URL"] = server.get_uri()


def pytest_unconfigure(config: pytest.Config) -> None:
    if drop := _state.get("drop"):
        import asyncpg

        server_url, name = drop  # type: ignore[misc]

        async def drop_database() -> None:
            connection = await asyncpg.connect(server_url)
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await connection.close()

        asyncio.run(drop_database())
    if server := _state.get("embedded"):
        server.cleanup()  # type: ignore[attr-defined]
    shutil.rmtree(_state["scratch"], ignore_errors=True)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def app():
    """The real application, migrated database, lifespan running (connection pool open)."""
    from app import create_app
    from app.db.migrate import migrate

    await migrate()
    application = create_app()
    # The lifespan must start and end in one task (anyio cancel scopes); fixtures set up and
    # tear down in different ones, so a task of its own holds it open.
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold_lifespan() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    holder = asyncio.create_task(hold_lifespan())
    await started.wait()
    yield application
    stop.set()
    await holder


_TABLES_SQL = """
SELECT string_agg(format('%I', tablename), ', ') AS tables FROM pg_tables
WHERE schemaname = 'public' AND tablename <> 'migration'
"""


@pytest.fixture(autouse=True)
async def clean_database(app) -> AsyncIterator[None]:
    """Each test starts with empty tables, an empty outbox and no attachment files."""
    yield
    from piccolo.engine import engine_finder

    from app.config import settings

    engine = engine_finder()
    rows = await engine.run_ddl(_TABLES_SQL)
    await engine.run_ddl(f"TRUNCATE {rows[0]['tables']} RESTART IDENTITY CASCADE")
    for folder in (settings.outbox_dir, settings.attachments_dir):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def client(app) -> AsyncIterator["httpx.AsyncClient"]:
    """A browser without JavaScript: cookies kept, redirects not followed."""
    import httpx

    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def new_client(app):
    """Open another independent browser (another user, or the same user elsewhere)."""
    import httpx

    opened: list[httpx.AsyncClient] = []

    def open_client(ip: str = "203.0.113.8") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40001))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        opened.append(http)
        return http

    yield open_client
    for http in opened:
        await http.aclose()
