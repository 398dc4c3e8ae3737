"""The bell: badge, side panel, notifications page, and the live stream behind them."""

from __future__ import annotations

import dataclasses
import functools
import operator
import secrets

import jinja2
from markupsafe import escape
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ASGIApp

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
        csrf = request.cookies.get("csrftoken", "")
        renderer = _stream_renderer(request.app)
        return stream.EventStream(
            stream.events(
                get_broker(), user, int(header) if header.isdigit() else None,
                lambda view: renderer.item(view, csrf), renderer.badge,
            ),
            ping=0,  # the broker pings quiet streams (broker.KEEPALIVE_SECONDS): one task less per stream
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


class StreamRenderer:
    """The stream's two fragments, rendered once per distinct content for the whole process.

    A broadcast sends the same notice to thousands of streams at once: the rows differ only by
    their id and the tab's CSRF token, and the badges by their count. Rendering the item once
    with stand-ins for those two, then putting each stream's values in, turns thousands of
    Jinja renders into one and thousands of string replacements (tests/notifications/test_bell.py
    holds that the result is the template's own). The stand-ins are random for each process, so
    no one can write them into a title on purpose; a notice that contains them anyway is rendered
    directly.
    """

    def __init__(self, item: jinja2.Template, badge: jinja2.Template) -> None:
        self._item, self._badge = item, badge
        self.id_stand_in = 10**18 + secrets.randbelow(8 * 10**18)  # an int: the template formats it
        self.csrf_stand_in = secrets.token_hex(16)
        self._id_text = str(self.id_stand_in)
        # A notice's content: every field of the view but its id, read in one C call per item.
        self._content_fields = tuple(f.name for f in dataclasses.fields(services.NotificationView) if f.name != "id")
        self._content = operator.attrgetter(*self._content_fields)
        self._item_shape = functools.lru_cache(maxsize=256)(self._render_item_shape)
        self.badge = functools.lru_cache(maxsize=256)(self._render_badge)

    def item(self, view: services.NotificationView, csrf: str) -> str:
        shape = self._item_shape(self._content(view))
        if shape is None:
            return self._item.render(n=view, csrf=csrf)
        return shape.replace(self._id_text, str(view.id)).replace(self.csrf_stand_in, str(escape(csrf)))

    def _render_item_shape(self, content: tuple) -> str | None:
        """The item with the stand-ins, or None for a notice that holds one (rendered directly)."""
        if any(stand_in in str(value) for value in content for stand_in in (self._id_text, self.csrf_stand_in)):
            return None
        view = services.NotificationView(id=self.id_stand_in, **dict(zip(self._content_fields, content)))
        return self._item.render(n=view, csrf=self.csrf_stand_in)

    def _render_badge(self, count: int) -> str:
        return self._badge.render(count=count)


def _stream_renderer(app) -> StreamRenderer:
    """The app's renderer, made at its first stream (so it shares the app's template engine)."""
    renderer = app.state.get("stream_renderer")
    if renderer is None:
        engine = app.template_engine
        renderer = app.state["stream_renderer"] = StreamRenderer(
            engine.get_template("notifications/_item.html"), engine.get_template("notifications/_badge.html"))
    return renderer
