"""The broker and the stream when the database fails under them, with the database faked at will
(tests/security/test_faults.py restarts a real PostgreSQL under a real server)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from app.accounts.sessions import CurrentUser
from app.notifications import broker as broker_module
from app.notifications import services
from app.notifications import stream as stream_module
from app.notifications.broker import Broker, Signal
from app.notifications.channel import CHANNEL
from app.notifications.services import NotificationView


def _view(notification_id: int) -> NotificationView:
    return NotificationView(id=notification_id, kind="new_message", title=f"n{notification_id}",
                            body="", created_at=datetime.now(timezone.utc), read_at=None,
                            incident_number=None, contract_number=None)


async def test_a_slow_load_is_not_overtaken_by_the_next_payload(monkeypatch):
    # A stream skips ids below the last one it sent: notification 2 routed before 1 would lose 1.
    delays = {1: 0.2, 2: 0.0}  # the first load waits, e.g. for a pooled connection to reconnect

    async def by_ids(ids: list[int]):
        await asyncio.sleep(delays[ids[0]])
        return {i: (7, _view(i)) for i in ids}

    monkeypatch.setattr(broker_module, "by_ids", by_ids)
    broker = Broker("postgresql://unused")
    subscription = broker.subscribe(7, session_id=1)
    broker._on_notify(None, 0, CHANNEL, "n:7:1")
    broker._on_notify(None, 0, CHANNEL, "n:7:2")
    received = [(await asyncio.wait_for(subscription.queue.get(), 2)).id for _ in range(2)]
    assert received == [1, 2]


async def test_a_stream_waits_out_the_database_then_replays_what_it_missed(monkeypatch):
    database = {"up": True, "rows": []}

    def answer(value):
        async def query(*_args):
            if not database["up"]:
                raise ConnectionRefusedError(111, "Connection refused")
            return value() if callable(value) else value
        return query

    monkeypatch.setattr(services, "unread_count", answer(lambda: len(database["rows"])))
    monkeypatch.setattr(services, "latest_id", answer(0))
    monkeypatch.setattr(services, "after", answer(lambda: database["rows"]))
    monkeypatch.setattr(stream_module, "session_is_open", answer(True))
    broker = Broker("postgresql://unused")
    user = CurrentUser(id=7, session_id=1, username="agent", first_name="", last_name="", email="",
                       role="agent", company_id=None, reseller_id=1)
    events = stream_module.events(broker, user, None, lambda view: f"item {view.id}",
                                  lambda count: f"badge {count}")
    assert parse(await anext(events)) == [{"event": "unread", "id": "0", "retry": "3000", "data": "badge 0"}]
    next_event = asyncio.ensure_future(anext(events))
    subscription = next(iter(broker.by_user[7]))

    database["up"] = False  # what the broker does when a load fails: every stream re-syncs
    subscription.offer(Signal.RESYNC)
    # a first attempt and a timed retry, both refused: the stream stays open and keeps pinging
    assert await asyncio.wait_for(next_event, 2) == stream_module.PING
    next_event = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.1)
    assert not next_event.done()

    database.update(up=True, rows=[_view(5)])  # back: the broker reconnects and says so
    subscription.offer(Signal.RESYNC)
    assert parse(await asyncio.wait_for(next_event, 2)) == [
        {"event": "notification", "id": "5", "data": "item 5"}, {"event": "unread", "data": "badge 1"}]
    await events.aclose()
    assert not broker.by_user  # unsubscribed


def _idle_database(monkeypatch) -> None:
    async def zero(*_args):
        return 0

    monkeypatch.setattr(services, "unread_count", zero)
    monkeypatch.setattr(services, "latest_id", zero)


def _agent() -> CurrentUser:
    return CurrentUser(id=7, session_id=1, username="agent", first_name="", last_name="", email="",
                       role="agent", company_id=None, reseller_id=1)


async def test_a_notification_committed_after_a_later_one_still_reaches_the_tab(monkeypatch):
    """Two transactions may commit in the other order than their ids: 9 arrives, then 8."""
    _idle_database(monkeypatch)
    broker = Broker("postgresql://unused")
    events = stream_module.events(broker, _agent(), None, lambda view: f"item {view.id}", lambda count: f"badge {count}")
    await anext(events)
    subscription = next(iter(broker.by_user[7]))
    for notification_id in (9, 8, 9):  # the second 9: a replay overlapping a live event
        subscription.offer(_view(notification_id))
    received = [parse(await asyncio.wait_for(anext(events), 2)) for _ in range(2)]
    assert received == [
        [{"event": "notification", "id": "9", "data": "item 9"}, {"event": "unread", "data": "badge 1"}],
        [{"event": "notification", "id": "8", "data": "item 8"}, {"event": "unread", "data": "badge 2"}],
    ]
    late = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.1)
    assert not late.done()  # the repeated 9 was not sent again
    subscription.offer(Signal.END)
    assert parse(await asyncio.wait_for(late, 2)) == [{"event": "signed-out", "data": ""}]
    await events.aclose()
    assert not broker.by_user  # unsubscribed


async def test_an_idle_stream_is_pinged_by_the_broker(monkeypatch):
    _idle_database(monkeypatch)
    monkeypatch.setattr(broker_module, "KEEPALIVE_SECONDS", 0.05)
    monkeypatch.setattr(broker_module, "KEEPALIVE_CHECK_SECONDS", 0.01)
    broker = Broker("postgresql://unused")
    events = stream_module.events(broker, _agent(), None, str, str)
    await anext(events)
    keep_alive = asyncio.create_task(broker.keep_alive())
    try:
        assert await asyncio.wait_for(anext(events), 2) == stream_module.PING
        assert stream_module.PING.startswith(b":")  # a comment: no event reaches the page
    finally:
        keep_alive.cancel()
        await events.aclose()


async def test_a_stream_is_pinged_once_it_was_given_nothing_for_the_whole_interval():
    broker = Broker("postgresql://unused")
    quiet, busy = broker.subscribe(7, 1), broker.subscribe(8, 2)
    start = quiet.last_offer
    busy.offer(_view(5))
    broker.ping_quiet(start + broker_module.KEEPALIVE_SECONDS - 0.5)
    assert await _drain(quiet) == []  # not yet
    broker.ping_quiet(start + broker_module.KEEPALIVE_SECONDS)
    assert await _drain(quiet) == [Signal.PING]
    assert [item.id for item in await _drain(busy)] == [5]  # it was given something a moment ago
    pinged_at = quiet.last_offer  # a ping counts as a write: the next one comes an interval later
    broker.ping_quiet(pinged_at + broker_module.KEEPALIVE_SECONDS - 0.5)
    assert await _drain(quiet) == []
    broker.ping_quiet(pinged_at + broker_module.KEEPALIVE_SECONDS)
    assert await _drain(quiet) == [Signal.PING]


async def test_stopping_the_broker_stops_its_keep_alive(monkeypatch):
    broker = Broker("postgresql://unused")
    broker._keepalive_task = keep_alive = asyncio.create_task(broker.keep_alive())
    await broker.stop()
    assert keep_alive.cancelled()


async def _drain(subscription) -> list:
    items = []
    while not subscription.queue.empty():
        items.append(await subscription.queue.get())
    return items


def parse(chunk: bytes) -> list[dict]:
    """The events of one chunk of the stream, as the browser reads them."""
    events = []
    for block in chunk.decode().replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append(fields)
    return events


async def test_a_streams_mailbox_waits_wakes_and_overflows_into_a_resync():
    from app.notifications.broker import QUEUE_SIZE, Subscription

    subscription = Subscription(user_id=7, session_id=1)
    waiting = asyncio.ensure_future(subscription.queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    subscription.offer(_view(1))
    assert (await asyncio.wait_for(waiting, 1)).id == 1
    with pytest.raises(TimeoutError):  # a timed-out wait loses nothing after it
        await asyncio.wait_for(subscription.queue.get(), 0.05)
    subscription.offer(_view(2))
    assert (await subscription.queue.get()).id == 2
    for number in range(QUEUE_SIZE + 1):  # a stream too slow: its backlog becomes one re-sync
        subscription.offer(_view(number))
    assert await subscription.queue.get() == Signal.RESYNC and subscription.queue.empty()
    for number in range(QUEUE_SIZE):
        subscription.offer(_view(number))
    subscription.offer(Signal.END)  # an end is never lost to an overflow
    assert await subscription.queue.get() == Signal.END
