"""The pool hands connections back without asyncpg's reset query (app/__init__.py): what that
query would have cleaned up must never be left behind."""

from __future__ import annotations

import re
from pathlib import Path

from piccolo.engine import engine_finder

from app.db.tables import Reseller

APP = Path(__file__).resolve().parents[2] / "app"


async def test_a_transaction_left_open_is_rolled_back_on_release(app):
    pool = engine_finder().pool
    async with pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO reseller (code, name, email) VALUES ('LEAK', 'Fuite', 'f@example.com')")
    assert await Reseller.count().where(Reseller.code == "LEAK") == 0
    async with pool.acquire() as connection:
        assert not connection.is_in_transaction()


def test_no_code_leaves_session_state_on_a_pooled_connection():
    """Session-level advisory locks, SET without LOCAL, LISTEN, cursors held open: none in app/
    but the broker's own connection."""
    forbidden = re.compile(r"pg_advisory_lock\(|pg_try_advisory_lock\(|set_config\(|TEMP(?:ORARY)? TABLE"
                           r"|(?:^|[\"';]\s*)(?-i:SET)\s+(?!LOCAL\b)"  # a SET statement (not UPDATE … SET, not "Set …")
                           r"|add_listener\(|[\"']LISTEN |DECLARE \w+ CURSOR WITH HOLD", re.IGNORECASE)
    found = [f"{path.relative_to(APP)}:{number}: {line.strip()}"
             for path in APP.rglob("*.py") if path.name != "broker.py"
             for number, line in enumerate(path.read_text().splitlines(), 1) if forbidden.search(line)]
    assert not found, found
