"""The pool hands connections back without asyncpg's reset query (app/__init__.py): what that
query would have cleaned up must never be left behind; and it hands them out in the order they
were asked for (app/db/pool.py)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
from pathlib import Path

import asyncpg
import pytest
from piccolo.engine import engine_finder

from app import _release_as_is
from app.db.pool import FairPool

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


# -- first come, first served (app/db/pool.py) -------------------------------------------------------


@pytest.fixture
async def pool_of_one(app):
    """A pool of one connection behind the fair gate, to the test database, released as the app
    releases them."""
    raw = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=1, reset=_release_as_is)
    fair = FairPool(raw, 1)
    try:
        yield fair
    finally:
        await fair.close()


async def test_a_connection_given_back_goes_to_the_longest_waiter(pool_of_one):
    """A request that asks while another waits queues behind it, whatever the moment it asks
    (asyncpg's own queue hands the connection to a newcomer that runs between the release and the
    waiter's wake-up: here, one step of the event loop after the release starts)."""

    async def take(name: str, steps: int, order: list[str]) -> None:
        for _ in range(steps):
            await asyncio.sleep(0)
        async with pool_of_one.acquire() as connection:
            order.append(name)
            await connection.fetchval("SELECT 1")

    for steps in range(6):
        order: list[str] = []
        holder = await pool_of_one.acquire()
        waiting = asyncio.create_task(take("waiter", 0, order))
        await asyncio.sleep(0.01)  # queued
        releasing = asyncio.create_task(pool_of_one.release(holder))
        newcomer = asyncio.create_task(take("newcomer", steps, order))
        await asyncio.gather(waiting, releasing, newcomer)
        assert order == ["waiter", "newcomer"], f"newcomer {steps} steps after the release"


async def test_a_wait_given_up_leaves_no_turn_taken(pool_of_one):
    """A waiter cancelled (a client gone) or timed out does not keep a turn: the pool still hands
    out its connection afterwards."""
    holder = await pool_of_one.acquire()
    waiting = asyncio.create_task(pool_of_one._take(None))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pool_of_one.acquire()
    await pool_of_one.release(holder)
    async with asyncio.timeout(2):
        async with pool_of_one.acquire() as connection:
            assert await connection.fetchval("SELECT 2") == 2
    assert pool_of_one.get_idle_size() == 1


async def test_a_failed_connection_gives_its_turn_back(app):
    """PostgreSQL unreachable: each acquisition fails at once, none waits for a turn that a
    failed one kept."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    raw = await asyncpg.create_pool(f"postgresql://nobody@127.0.0.1:{port}/none", min_size=0, max_size=1)
    fair = FairPool(raw, 1)
    try:
        for _ in range(3):
            with pytest.raises(ConnectionRefusedError):  # not TimeoutError: nothing waits for a turn
                async with asyncio.timeout(2):
                    await fair.acquire()
    finally:
        await fair.close()


async def test_a_connection_released_twice_gives_back_one_turn(app):
    """asyncpg ignores a second release; the gate must too, or it lets more requests through
    than it has turns."""
    raw = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=2, reset=_release_as_is)
    fair = FairPool(raw, 1)  # one turn, two connections behind it: an extra turn would show
    try:
        connection = await fair.acquire()
        await fair.release(connection)
        await fair.release(connection)
        held = await fair.acquire()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await fair.acquire()
        await fair.release(held)
    finally:
        raw.terminate()  # not close(): it would wait for a connection a failed assertion left out


async def test_the_app_pool_is_the_fair_one(app):
    assert isinstance(engine_finder().pool, FairPool)
