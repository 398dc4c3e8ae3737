"""The bell: badge, side panel, notifications page, and the live stream behind them."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ASGIApp
from sse_starlette import EventSourceResponse

from app.errors import NotFound
from app.notifications import services, stream
from app.notifications.broker import get_broker
from app.web.auth import current_user, signed_in
from app.web.rendering import fragment, render


class NotificationController(Controller):
    path = "/notifications"

    @get("/", guards=[signed_in], name="notifications")
    async def page(self, request: Request, page: FromQuery[int] = 1) -> Template:
        """Without JavaScript the bell is a link to this page."""
        user = current_user(request)
        notifications = await services.recent(user.id, page=page)
        return render(request, "notifications/page.html",
                      {"notifications": notifications, "unread": await services.unread_count(user.id)},
                      block="results" if request.headers.get("hx-target") == "notification-page" else "content")

    @get("/panel", guards=[signed_in], name="notification_panel")
    async def panel(self, request: Request, page: FromQuery[int] = 1) -> Template:
        user = current_user(request)
        notifications = await services.recent(user.id, page=page)
        return fragment("notifications/_panel.html",
                        {"notifications": notifications, "unread": await services.unread_count(user.id)})

    @get("/badge", guards=[signed_in], name="notification_badge")
    async def badge(self, request: Request) -> Template:
        return fragment("notifications/_badge.html", {"count": await services.unread_count(current_user(request).id)})

    @post("/{notification_id:int}/open", guards=[signed_in], name="notification_open")
    async def open(self, request: Request, notification_id: FromPath[int]) -> Redirect:
        """Mark it read and go to its incident, on the right tab."""
        user = current_user(request)
        view = await services.open_notification(user.id, notification_id)
        if view is None:
            raise NotFound()
        return Redirect(services.target_url(view, reseller=user.is_reseller), status_code=303)

    @post("/read", guards=[signed_in], name="notifications_read")
    async def read_all(self, request: Request) -> Response:
        """Tout marquer comme lu."""
        user = current_user(request)
        await services.mark_all_read(user.id)
        if request.headers.get("hx-request") == "true":
            notifications = await services.recent(user.id)
            return fragment("notifications/_panel.html", {"notifications": notifications, "unread": 0})
        return Redirect("/notifications", status_code=303)

    @get("/stream", name="notification_stream")
    async def events(self, request: Request) -> ASGIApp:
        """One SSE stream per tab; 204 (which stops EventSource for good) when not signed in."""
        user = current_user(request)
        if user is None:
            return Response(content=b"", status_code=204)
        header = request.headers.get("last-event-id", "")
        engine = request.app.template_engine
        item, badge = engine.get_template("notifications/_item.html"), engine.get_template("notifications/_badge.html")
        csrf = request.cookies.get("csrftoken", "")
        return EventSourceResponse(
            stream.events(
                get_broker(), user, int(header) if header.isdigit() else None,
                lambda view: item.render(n=view, csrf=csrf),
                lambda count: badge.render(count=count),
            ),
            ping=stream.PING_SECONDS,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
