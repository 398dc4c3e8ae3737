"""The connection pool, handing connections out first come, first served.

asyncpg keeps its idle connections in an `asyncio.Queue`. When a connection comes back, the queue
wakes the longest waiter, but until that waiter runs, any task that asks (typically the request
that has just released it and goes on to its next statement) takes the connection first; the
waiter finds the queue empty and queues again, at the back. Under load some requests lose that
race over and over: at 64 connections on the reseller's serial search, the slowest 1 % waited
130-320 ms for a connection while the median waited 19-36 ms, and the page's p99 was 400 ms for
a p50 of 55 ms (bench/, docs/PERFORMANCE.md).

`FairPool` puts an `asyncio.Semaphore` of the pool's size in front of it: a semaphore with
waiters refuses newcomers (Python 3.11.1 onwards), so connections go out in the order they were
asked for, and the asyncpg queue itself never has a waiter to be overtaken. It offers what Piccolo
uses of a pool: `acquire()` awaited or as a context manager, `release()`, `close()`. An
acquisition's `timeout` bounds asyncpg's part of it, not the wait for a turn (no caller sets one).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from asyncpg.pool import Pool


class FairPool:
    __slots__ = ("_pool", "_turns", "_handed_out")

    def __init__(self, pool: Pool, size: int) -> None:
        self._pool = pool
        self._turns = asyncio.Semaphore(size)
        self._handed_out: set[asyncpg.Connection] = set()  # a turn is given back once per connection

    def acquire(self, *, timeout: float | None = None) -> _Acquisition:
        return _Acquisition(self, timeout)

    async def _take(self, timeout: float | None) -> asyncpg.Connection:
        await self._turns.acquire()
        try:
            connection = await self._pool.acquire(timeout=timeout)
        except BaseException:
            self._turns.release()
            raise
        self._handed_out.add(connection)
        return connection

    async def release(self, connection: asyncpg.Connection, *, timeout: float | None = None) -> None:
        try:
            await self._pool.release(connection, timeout=timeout)
        finally:
            if connection in self._handed_out:  # asyncpg ignores a second release; so do the turns
                self._handed_out.discard(connection)
                self._turns.release()

    async def close(self) -> None:
        await self._pool.close()

    def __getattr__(self, name: str) -> Any:  # get_size(), get_idle_size()… of the asyncpg pool
        return getattr(self._pool, name)


class _Acquisition:
    """`await pool.acquire()` (released by `pool.release`) or `async with pool.acquire() as c`."""

    __slots__ = ("_fair", "_timeout", "_connection")

    def __init__(self, fair: FairPool, timeout: float | None) -> None:
        self._fair, self._timeout, self._connection = fair, timeout, None

    def __await__(self):
        return self._fair._take(self._timeout).__await__()

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await self._fair._take(self._timeout)
        return self._connection

    async def __aexit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        await self._fair.release(connection)


async def start_pool(engine: Any, *, min_size: int, max_size: int, **options: Any) -> None:
    """Piccolo's engine pool, behind the fair gate."""
    await engine.start_connection_pool(min_size=min_size, max_size=max_size, **options)
    engine.pool = FairPool(engine.pool, max_size)
