"""/notifications/stream: one server-sent-events stream per signed-in tab.

Events: `unread` (the badge's HTML) and `notification` (a panel item's HTML, `id:` = the
notification id). With Last-Event-ID the stream first replays what the tab missed; without it,
it starts with the current count. It ends when its session ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent
from litestar.types import Message, Send

from app.accounts.sessions import CurrentUser, session_is_open
from app.db.errors import database_unreachable
from app.notifications import services
from app.notifications.broker import Broker, Signal
from app.notifications.services import NotificationView

log = logging.getLogger(__name__)

RETRY_MS = 3000
RESYNC_RETRY_SECONDS = 0.5  # while PostgreSQL is away, doubling up to the maximum
RESYNC_RETRY_MAX_SECONDS = 5.0
SIGNED_OUT = "signed-out"


async def events(
    broker: Broker,
    user: CurrentUser,
    last_event_id: int | None,
    render_item: Callable[[NotificationView], str],
    render_badge: Callable[[int], str],
) -> AsyncIterator[bytes]:
    """The stream of one tab, as encoded server-sent events.

    A notification and the badge it changes leave in one chunk (one write to the socket, not
    two: a broadcast makes thousands at once), and the keep-alive comes from the broker's one
    timer rather than a ping task of sse-starlette's per stream (memory per stream,
    docs/PERFORMANCE.md) or a timeout around each wait (time per event).
    """
    subscription = broker.subscribe(user.id, user.session_id)  # first, so nothing slips in between
    try:
        # The badge's count is kept here (+1 per notification sent) and read from the database
        # only at the start, after a replay and when notifications were read elsewhere: a
        # broadcast to thousands of streams must not cost a count query per stream.
        unread = await services.unread_count(user.id)
        if last_event_id is None:
            last_id = await services.latest_id(user.id)
            yield encode(badge_event(render_badge(unread), last_id=last_id))
            replay_needed = False
        else:
            last_id = last_event_id
            yield encode(badge_event(render_badge(unread)))
            replay_needed = True
        # What was sent, by id: two transactions may commit in the other order than their ids,
        # so "below the last id" does not mean "sent" (a replay overlaps live events, too).
        sent = RecentIds()
        check_session = False
        retry_delay = RESYNC_RETRY_SECONDS
        while True:
            if replay_needed:
                try:
                    if check_session and not await session_is_open(user.session_id):
                        yield encode({"event": SIGNED_OUT, "data": ""})
                        return
                    missed = await services.after(user.id, last_id)
                    unread = await services.unread_count(user.id)
                except Exception as error:
                    if not database_unreachable(error):
                        raise
                    # PostgreSQL is away: the tab keeps its stream and re-syncs when the broker
                    # is back (its RESYNC wakes us up) or, failing that, on a timer.
                    log.info("stream of user %s waits for the database (%r)", user.id, error)
                    try:
                        item = await asyncio.wait_for(subscription.queue.get(), retry_delay)
                    except TimeoutError:
                        item = None
                    if item == Signal.END:
                        yield encode({"event": SIGNED_OUT, "data": ""})
                        return
                    if item is None or item == Signal.PING:  # a long outage must not look idle to a proxy
                        yield PING
                    retry_delay = min(retry_delay * 2, RESYNC_RETRY_MAX_SECONDS)
                    continue  # whatever else came is in the database: the replay reads it
                chunk = [notification_event(view, render_item(view)) for view in missed if view.id not in sent]
                for view in missed:
                    sent.add(view.id)
                    last_id = max(last_id, view.id)
                yield encode(*chunk, badge_event(render_badge(unread)))
                replay_needed = check_session = False
                retry_delay = RESYNC_RETRY_SECONDS
                continue
            item = await subscription.queue.get()
            if item == Signal.PING:  # from the broker's keep-alive
                yield PING
                continue
            if item == Signal.END:
                yield encode({"event": SIGNED_OUT, "data": ""})  # sse-close: the browser stops reconnecting
                return
            if item == Signal.RESYNC:
                replay_needed = check_session = True
            elif item == Signal.RECOUNT:
                replay_needed = True  # counts again, and waits out the database if it is away
            elif isinstance(item, NotificationView) and item.id not in sent:
                sent.add(item.id)
                last_id = max(last_id, item.id)
                unread += 1 if item.is_unread else 0
                yield encode(notification_event(item, render_item(item)), badge_event(render_badge(unread)))
    finally:
        broker.unsubscribe(subscription)


class EventStream(EventSourceResponse):
    """sse-starlette's response, without a cancel scope around each write when there is no send
    timeout to apply (`anyio.move_on_after(None)`, 5 µs per event: a tenth of a second for a
    broadcast to 10,000 streams). A stream whose client stopped reading ends when TCP gives up
    on it; what waits for it meanwhile is bounded by its mailbox (broker.QUEUE_SIZE)."""

    async def _send_with_timeout(self, send: Send, message: Message) -> None:
        if self.send_timeout is None:
            await send(message)
        else:
            await super()._send_with_timeout(send, message)


PING = ServerSentEvent(comment="ping").encode()  # a comment: keeps proxies from closing an idle stream

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what the EventSource parser takes for the end of a line
_SEP = ServerSentEvent.DEFAULT_SEPARATOR


def encode(*events: dict) -> bytes:
    """Events as sse-starlette's ServerSentEvent.encode() writes them (tests/notifications/
    test_stream_encoding.py compares the two), in a fifth of its time: a broadcast encodes two
    events for each of thousands of streams."""
    return "".join([_event_text(**event) for event in events]).encode()


def _event_text(*, data: str, event: str | None = None, id: str | None = None, retry: int | None = None) -> str:
    text = f"id: {_LINE_BREAK.sub('', id)}{_SEP}" if id is not None else ""
    if event is not None:
        text += f"event: {_LINE_BREAK.sub('', event)}{_SEP}"
    if "\r" in data:  # every line break, whichever its form, as one "\n" (the parser's reading)
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    text += f"data: {data.replace(chr(10), _SEP + 'data: ')}{_SEP}"
    if retry is not None:
        text += f"retry: {retry:d}{_SEP}"
    return text + _SEP


def notification_event(view: NotificationView, html: str) -> dict:
    return {"event": "notification", "id": str(view.id), "data": html}


def badge_event(html: str, *, last_id: int | None = None) -> dict:
    """The badge; the first one of a stream also says where it starts (`id`) and the retry delay."""
    if last_id is None:
        return {"event": "unread", "data": html}
    return {"event": "unread", "id": str(last_id), "retry": RETRY_MS, "data": html}


class RecentIds:
    """The ids sent lately, forgetting the oldest past `size`: far more than commits can overtake."""

    __slots__ = ("_ids", "_size")

    def __init__(self, size: int = 256) -> None:
        self._ids: dict[int, None] = {}
        self._size = size

    def __contains__(self, notification_id: int) -> bool:
        return notification_id in self._ids

    def add(self, notification_id: int) -> None:
        self._ids[notification_id] = None
        if len(self._ids) > self._size:
            del self._ids[next(iter(self._ids))]
