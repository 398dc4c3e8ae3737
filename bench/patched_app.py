"""The app with ONE proposed change applied by monkeypatching, to measure it without editing app/:
the SSE stream keeps the badge's unread count itself (+1 per notification it sends) instead of
running `unread_count()` after every event; it still re-counts from the database on a RECOUNT
(notifications read elsewhere), after a replay and at the start.

    uvicorn bench.patched_app:create_app --factory      (used by: python -m bench.sse --app patched)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from app import create_app as _create_app
from app.notifications import controllers, stream
from app.notifications import services
from app.notifications.broker import Broker, Signal
from app.notifications.services import NotificationView
from app.accounts.sessions import CurrentUser, session_is_open


async def events(broker: Broker, user: CurrentUser, last_event_id: int | None,
                 render_item: Callable[[NotificationView], str],
                 render_badge: Callable[[int], str]) -> AsyncIterator[dict]:
    subscription = broker.subscribe(user.id, user.session_id)
    try:
        unread = await services.unread_count(user.id)
        if last_event_id is None:
            last_id = await services.latest_id(user.id)
            yield {"event": "unread", "id": str(last_id), "retry": stream.RETRY_MS, "data": render_badge(unread)}
            replay_needed = False
        else:
            last_id = last_event_id
            yield {"event": "unread", "retry": stream.RETRY_MS, "data": render_badge(unread)}
            replay_needed = True
        while True:
            if replay_needed:
                for view in await services.after(user.id, last_id):
                    last_id = view.id
                    yield {"event": "notification", "id": str(view.id), "data": render_item(view)}
                replay_needed = False
            else:
                item = await subscription.queue.get()
                if item == Signal.END:
                    yield {"event": stream.SIGNED_OUT, "data": ""}
                    return
                if item == Signal.RESYNC:
                    if not await session_is_open(user.session_id):
                        yield {"event": stream.SIGNED_OUT, "data": ""}
                        return
                    replay_needed = True
                    continue
                if isinstance(item, NotificationView):
                    if item.id <= last_id:
                        continue
                    last_id = item.id
                    yield {"event": "notification", "id": str(item.id), "data": render_item(item)}
                    unread += 1  # the change: no query per event
                    yield {"event": "unread", "data": render_badge(unread)}
                    continue
            unread = await services.unread_count(user.id)
            yield {"event": "unread", "data": render_badge(unread)}
    finally:
        broker.unsubscribe(subscription)


def create_app():
    stream.events = events
    controllers.stream.events = events
    return _create_app()
