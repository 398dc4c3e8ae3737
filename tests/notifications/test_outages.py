"""The broker and the stream when the database fails under them, with the database faked at will
(tests/security/test_faults.py restarts a real PostgreSQL under a real server)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

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
    assert (await anext(events))["data"] == "badge 0"
    next_event = asyncio.ensure_future(anext(events))
    subscription = next(iter(broker.by_user[7]))

    database["up"] = False  # what the broker does when a load fails: every stream re-syncs
    subscription.offer(Signal.RESYNC)
    await asyncio.sleep(0.7)  # a first attempt and a timed retry, both refused
    assert not next_event.done()  # still open, not ended by the error

    database.update(up=True, rows=[_view(5)])  # back: the broker reconnects and says so
    subscription.offer(Signal.RESYNC)
    event = await asyncio.wait_for(next_event, 2)
    assert (event["event"], event["id"], event["data"]) == ("notification", "5", "item 5")
    assert (await asyncio.wait_for(anext(events), 2))["data"] == "badge 1"
    await events.aclose()
    assert not broker.by_user  # unsubscribed
