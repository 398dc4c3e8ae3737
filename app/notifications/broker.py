"""The per-process fan-out: one dedicated LISTEN connection, bounded queues for the open streams.

Every process runs one Broker. It holds an asyncpg connection of its own (never a pooled one:
LISTEN belongs to a session), routes each token of each NOTIFY to the streams of that process,
and fetches the notification rows of a payload in one query for all of them. When the listening
connection is lost it reconnects with backoff, LISTENs again and tells every stream to re-sync
from the database, so nothing committed meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from time import monotonic
from dataclasses import dataclass, field

import asyncpg

from app.notifications.channel import CHANNEL
from app.notifications.services import NotificationView, by_ids

log = logging.getLogger(__name__)

QUEUE_SIZE = 64
KEEPALIVE_SECONDS = 15.0  # a stream that sent nothing for this long gets a ping (proxies cut idle connections)
KEEPALIVE_CHECK_SECONDS = 1.0  # how often the keep-alive looks: a stream waits at most the sum


class Signal:
    """Queue markers other than a notification."""

    RECOUNT = "recount"  # notifications were read elsewhere: the badge counts again
    RESYNC = "resync"  # events may have been missed: read the database from the last id
    END = "end"  # the session ended: close the stream
    PING = "ping"  # nothing was sent for a while: keep the connection alive


class Mailbox:
    """A bounded FIFO read by one stream: what asyncio.Queue does here, in a quarter of its
    memory (3.3 KB each, and a process holds 10,000 of them: docs/PERFORMANCE.md)."""

    __slots__ = ("_items", "_waiter", "_size")

    def __init__(self, size: int) -> None:
        self._items: deque = deque()
        self._waiter: asyncio.Future | None = None
        self._size = size

    def put_nowait(self, item: object) -> None:
        if len(self._items) >= self._size:
            raise asyncio.QueueFull
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def clear(self) -> None:
        self._items.clear()

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> object:
        """The oldest item, waiting for one; cancellable (a timeout around it loses nothing)."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


@dataclass(eq=False, slots=True)
class Subscription:
    user_id: int
    session_id: int
    last_offer: float = field(default_factory=monotonic)  # when the stream was last given something to write
    queue: Mailbox = field(default_factory=lambda: Mailbox(QUEUE_SIZE))

    def offer(self, item: NotificationView | str) -> None:
        """Queue an item; a stream too slow to keep up gets a re-sync instead of unbounded memory."""
        self.last_offer = monotonic()
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.queue.clear()
            self.queue.put_nowait(Signal.END if item == Signal.END else Signal.RESYNC)


class Broker:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.by_user: dict[int, set[Subscription]] = {}
        self._connection: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        self._last_delivery: asyncio.Task | None = None
        self._keepalive_task: asyncio.Task | None = None
        self.connected = asyncio.Event()

    # -- streams ---------------------------------------------------------------------------------
    def subscribe(self, user_id: int, session_id: int) -> Subscription:
        subscription = Subscription(user_id, session_id)
        self.by_user.setdefault(user_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self.by_user.get(subscription.user_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self.by_user[subscription.user_id]

    @property
    def stream_count(self) -> int:
        return sum(len(s) for s in self.by_user.values())

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notification-broker")
        self._keepalive_task = asyncio.create_task(self.keep_alive(), name="notification-keepalive")
        try:
            await asyncio.wait_for(self.connected.wait(), timeout=10)
        except TimeoutError:
            log.warning("notification broker not connected yet; it keeps trying in the background")

    async def stop(self) -> None:
        for task in (self._task, self._keepalive_task):
            if task:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:  # failed earlier: still stop the other one, close the connection
                    log.exception("%s had failed", task.get_name())
        for task in list(self._pending):
            task.cancel()
        for subscriptions in self.by_user.values():
            for subscription in subscriptions:
                subscription.offer(Signal.END)
        await self._close()

    async def _run(self) -> None:
        delay = 0.2
        first = True
        while True:
            try:
                await self._connect()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("notification broker cannot LISTEN (%r); retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.2
            if not first:
                log.info("notification broker reconnected; %d stream(s) re-sync", self.stream_count)
                self._broadcast(Signal.RESYNC)
            first = False
            await self._lost.wait()
            self.connected.clear()
            await self._close()

    async def _connect(self) -> None:
        self._lost.clear()
        connection = await asyncpg.connect(self.dsn)
        connection.add_termination_listener(lambda _connection: self._lost.set())
        await connection.add_listener(CHANNEL, self._on_notify)
        self._connection = connection
        self.connected.set()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=2)

    async def keep_alive(self) -> None:
        """Ping the streams given nothing to write for KEEPALIVE_SECONDS, looking every second.

        One timer for the process instead of a timeout around every stream's wait, which cost a
        timer set and cancelled for each event of each stream (a tenth of a broadcast's time).
        Streams are pinged when their own quiet time is up, so their pings spread as their
        connections and events do (a look at 10,000 streams takes about a millisecond)."""
        while True:
            await asyncio.sleep(KEEPALIVE_CHECK_SECONDS)
            self.ping_quiet(monotonic())

    def ping_quiet(self, now: float) -> None:
        for subscriptions in self.by_user.values():
            for subscription in subscriptions:
                if now - subscription.last_offer >= KEEPALIVE_SECONDS:
                    subscription.offer(Signal.PING)

    def _broadcast(self, signal: str) -> None:
        for subscriptions in self.by_user.values():
            for subscription in subscriptions:
                subscription.offer(signal)

    # -- routing ---------------------------------------------------------------------------------
    def _on_notify(self, _connection, _pid, _channel, payload: str) -> None:
        wanted: list[int] = []
        for token in payload.split():
            kind, _, rest = token.partition(":")
            parts = rest.split(":")
            try:
                numbers = [int(p) for p in parts if p]
            except ValueError:
                continue
            if not numbers:
                continue
            if kind == "n" and len(numbers) == 2 and numbers[0] in self.by_user:
                wanted.append(numbers[1])
            elif kind == "r":
                self._to_user(numbers[0], Signal.RECOUNT)
            elif kind == "s":
                for subscriptions in self.by_user.values():
                    for subscription in subscriptions:
                        if subscription.session_id == numbers[0]:
                            subscription.offer(Signal.END)
            elif kind == "u":
                kept = numbers[1] if len(numbers) > 1 else None
                for subscription in self.by_user.get(numbers[0], ()):
                    if subscription.session_id != kept:
                        subscription.offer(Signal.END)
        if wanted:
            task = asyncio.create_task(self._deliver(wanted, after=self._last_delivery))
            self._last_delivery = task
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    def _to_user(self, user_id: int, item: NotificationView | str) -> None:
        for subscription in self.by_user.get(user_id, ()):
            subscription.offer(item)

    async def _deliver(self, ids: list[int], after: asyncio.Task | None) -> None:
        try:
            rows = await by_ids(ids)
        except Exception as error:  # the database is away: the streams re-read it when it is back
            rows = None
            log.warning("could not load notifications %s (%r); streams will re-sync", ids[:5], error)
        # Loads run side by side but are routed in NOTIFY order, so that a tab shows notifications
        # in the order they were announced (streams drop only ids they already sent, so order is
        # for the reader, not for delivery).
        if after is not None and not after.done():
            await asyncio.wait([after])
        if rows is None:
            self._broadcast(Signal.RESYNC)
            return
        for notification_id in sorted(rows):
            recipient, view = rows[notification_id]
            self._to_user(recipient, view)


_broker: Broker | None = None


def get_broker() -> Broker:
    if _broker is None:
        raise RuntimeError("the notification broker is not running (app lifespan not started)")
    return _broker


async def start_broker(dsn: str) -> Broker:
    global _broker
    _broker = Broker(dsn)
    await _broker.start()
    return _broker


async def stop_broker() -> None:
    global _broker
    if _broker is not None:
        await _broker.stop()
        _broker = None
