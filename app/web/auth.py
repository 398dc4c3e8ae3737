"""Who is asking: the session cookie read on every request, and the guards that routes declare.

`SessionMiddleware` puts a `CurrentUser` (or None) in `scope["user"]`, so `request.user` works in
handlers, guards and templates. Guards answer per SPEC §5: not signed in → the sign-in page;
another kind of user (a reseller on a customer URL, or the reverse) → 404; a role that may not
write → 403.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from app.accounts.sessions import CurrentUser, current_user_for

SESSION_COOKIE = "session"
_SKIPPED_PREFIXES = ("/static/", "/healthz")


def _session_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as no session
                return None
            if SESSION_COOKIE in cookie:
                return cookie[SESSION_COOKIE].value
    return None


class SessionMiddleware:
    """Resolve the session cookie to the signed-in user, once per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            user = None
            if not scope["path"].startswith(_SKIPPED_PREFIXES):
                token = _session_token(scope)
                user = await current_user_for(token) if token else None
            scope["user"] = user  # type: ignore[typeddict-unknown-key]
        await self.app(scope, receive, send)


def current_user(connection: ASGIConnection) -> CurrentUser | None:
    return connection.scope.get("user")  # type: ignore[return-value]


# Guards are coroutines: Litestar runs a plain function guard in a worker thread, a thread hop
# per guard per request (a tenth of a list page's time under load: docs/PERFORMANCE.md).

def _user(connection: ASGIConnection) -> CurrentUser:
    user = current_user(connection)
    if user is None:
        raise NotAuthorizedException()
    return user


async def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _user(connection)


def _customer(connection: ASGIConnection) -> CurrentUser:
    """A customer company's user; anyone else is told the page does not exist."""
    user = _user(connection)
    if not user.is_customer:
        raise NotFoundException()
    return user


def _reseller(connection: ASGIConnection) -> CurrentUser:
    user = _user(connection)
    if not user.is_reseller:
        raise NotFoundException()
    return user


async def customer(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A customer company's user; anyone else is told the page does not exist."""
    _customer(connection)


async def customer_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A customer administrator; a basic user of the company is refused with 403."""
    if not _customer(connection).is_admin:
        raise PermissionDeniedException("Votre compte est en lecture seule.")


async def reseller(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _reseller(connection)


async def reseller_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A reseller administrator; an agent of the reseller is refused with 403."""
    if not _reseller(connection).is_admin:
        raise PermissionDeniedException("Réservé aux administrateurs du revendeur.")
