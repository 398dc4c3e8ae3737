"""/notifications/stream: one server-sent-events stream per signed-in tab.

Events: `unread` (the badge's HTML) and `notification` (a panel item's HTML, `id:` = the
notification id). With Last-Event-ID the stream first replays what the tab missed; without it,
it starts with the current count. It ends when its session ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from app.accounts.sessions import CurrentUser, session_is_open
from app.notifications import services
from app.notifications.broker import Broker, Signal
from app.notifications.services import NotificationView

RETRY_MS = 3000
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
        while True:
            if replay_needed:
                for view in await services.after(user.id, last_id):
                    last_id = view.id
                    yield {"event": "notification", "id": str(view.id), "data": render_item(view)}
                replay_needed = False
                unread = await services.unread_count(user.id)
            else:
                item = await subscription.queue.get()
                if item == Signal.END:
                    yield {"event": SIGNED_OUT, "data": ""}  # sse-close: the browser stops reconnecting
                    return
                if item == Signal.RESYNC:
                    if not await session_is_open(user.session_id):
                        yield {"event": SIGNED_OUT, "data": ""}
                        return
                    replay_needed = True
                    continue
                if item == Signal.RECOUNT:
                    unread = await services.unread_count(user.id)
                elif isinstance(item, NotificationView):
                    if item.id <= last_id:
                        continue
                    last_id = item.id
                    unread += 1 if item.is_unread else 0
                    yield {"event": "notification", "id": str(item.id), "data": render_item(item)}
            yield {"event": "unread", "data": render_badge(unread)}
    finally:
        broker.unsubscribe(subscription)
