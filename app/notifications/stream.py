"""/notifications/stream: one server-sent-events stream per signed-in tab.

Events: `unread` (the badge's HTML) and `notification` (a panel item's HTML, `id:` = the
notification id). With Last-Event-ID the stream first replays what the tab missed; without it,
it starts with the current count. It ends when its session ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from app.accounts.sessions import CurrentUser, session_is_open
from app.db.errors import database_unreachable
from app.notifications import services
from app.notifications.broker import Broker, Signal
from app.notifications.services import NotificationView

log = logging.getLogger(__name__)

RETRY_MS = 3000
RESYNC_RETRY_SECONDS = 0.5  # while PostgreSQL is away, doubling up to the maximum
RESYNC_RETRY_MAX_SECONDS = 5.0
PING_SECONDS = 15
SIGNED_OUT = "signed-out"


async def events(
    broker: Broker,
    user: CurrentUser,
    last_event_id: int | None,
    render_item: Callable[[NotificationView], str],
    render_badge: Callable[[int], str],
) -> AsyncIterator[dict]:
    """The stream of one tab, as sse-starlette event dicts."""
    subscription = broker.subscribe(user.id, user.session_id)  # first, so nothing slips in between
    try:
        # The badge's count is kept here (+1 per notification sent) and read from the database
        # only at the start, after a replay and when notifications were read elsewhere: a
        # broadcast to thousands of streams must not cost a count query per stream.
        unread = await services.unread_count(user.id)
        if last_event_id is None:
            last_id = await services.latest_id(user.id)
            yield {"event": "unread", "id": str(last_id), "retry": RETRY_MS, "data": render_badge(unread)}
            replay_needed = False
        else:
            last_id = last_event_id
            yield {"event": "unread", "retry": RETRY_MS, "data": render_badge(unread)}
            replay_needed = True
        check_session = False
        retry_delay = RESYNC_RETRY_SECONDS
        while True:
            if replay_needed:
                try:
                    if check_session and not await session_is_open(user.session_id):
                        yield {"event": SIGNED_OUT, "data": ""}
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
                        yield {"event": SIGNED_OUT, "data": ""}
                        return
                    retry_delay = min(retry_delay * 2, RESYNC_RETRY_MAX_SECONDS)
                    continue  # whatever else came is in the database: the replay reads it
                for view in missed:
                    last_id = view.id
                    yield {"event": "notification", "id": str(view.id), "data": render_item(view)}
                replay_needed = check_session = False
                retry_delay = RESYNC_RETRY_SECONDS
            else:
                item = await subscription.queue.get()
                if item == Signal.END:
                    yield {"event": SIGNED_OUT, "data": ""}  # sse-close: the browser stops reconnecting
                    return
                if item == Signal.RESYNC:
                    replay_needed = check_session = True
                    continue
                if item == Signal.RECOUNT:
                    replay_needed = True  # counts again, and waits out the database if it is away
                    continue
                if isinstance(item, NotificationView):
                    if item.id <= last_id:
                        continue
                    last_id = item.id
                    unread += 1 if item.is_unread else 0
                    yield {"event": "notification", "id": str(item.id), "data": render_item(item)}
            yield {"event": "unread", "data": render_badge(unread)}
    finally:
        broker.unsubscribe(subscription)
