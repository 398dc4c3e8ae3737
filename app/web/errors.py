"""Every refusal as a page a person can read: sign-in redirect, 403, 404, 429, 503, 500."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

import asyncpg
from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Redirect

from app.db.errors import database_unreachable
from app.errors import Forbidden, NotFound, RateLimited
from app.web.rendering import fragment, render

log = logging.getLogger(__name__)

CSRF_FAILED = "CSRF token verification failed"
CLIENT_LEFT = "client disconnected prematurely"  # Litestar's words when a request body stops short


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _logged_path(request: Request) -> str:
    """The request's path for a log line, its control characters written out (\\x0a): whoever
    sends the request types the path, and a newline in it would forge a log line (ASVS V7.3.1)."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", request.url.path)


def _page(request: Request, status: int, title: str, message: str, headers=None) -> Response:
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
        headers=headers,
    )


def sign_in_required(request: Request, _: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=200, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def not_found(request: Request, exc: Exception) -> Response:
    log.info("404 %s %s user=%s", request.method, _logged_path(request), _user_id(request))
    return _page(request, 404, "Page introuvable", "Cette page n'existe pas ou ne vous est pas accessible.")


def forbidden(request: Request, exc: Exception) -> Response:
    log.warning("403 %s %s user=%s: %s", request.method, _logged_path(request), _user_id(request), exc)
    if CSRF_FAILED in str(exc):
        return _page(
            request, 403, "Formulaire expiré",
            "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez.",
        )
    if isinstance(exc, Forbidden) and str(exc):
        message = str(exc)
    elif isinstance(exc, PermissionDeniedException) and exc.detail and exc.detail != "Forbidden":
        message = exc.detail  # a guard's own words ("Réservé aux administrateurs du revendeur.")
    else:
        message = "Votre compte ne permet pas cette action. Un administrateur de votre société peut la faire."
    return _page(request, 403, "Action non autorisée", message)


def rate_limited(request: Request, exc: RateLimited) -> Response:
    return _page(request, 429, "Trop de tentatives", exc.message,
                 headers={"Retry-After": str(exc.retry_after)})


def database_unavailable(request: Request, exc: Exception) -> Response:
    if not database_unreachable(exc):  # an OSError about something else: a bug or a file
        return server_error(request, exc)
    log.error("database unavailable on %s %s: %r", request.method, _logged_path(request), exc)
    return _page(
        request, 503, "Service momentanément indisponible",
        "Le service est momentanément indisponible. Réessayez dans quelques instants.",
        headers={"Retry-After": "5"},
    )


def too_large(request: Request, exc: Exception) -> Response:
    from app.incidents.attachments import TOO_BIG

    if request.headers.get("hx-request") == "true":
        return fragment("incidents/partials/_upload_error.html", {"message": TOO_BIG}, status_code=413)
    return _page(request, 413, "Fichier trop volumineux", TOO_BIG)


def http_error(request: Request, exc: HTTPException) -> Response:
    if exc.detail == CLIENT_LEFT:  # an upload cancelled, a tab closed: no one left to answer
        log.info("client left during %s %s", request.method, _logged_path(request))
        return Response(content=b"", status_code=400)
    if exc.status_code >= 500:
        log.error("%s on %s %s: %s", exc.status_code, request.method, _logged_path(request), exc.detail)
    return _page(request, exc.status_code, "Requête refusée", "Cette requête n'a pas pu être traitée.")


def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, _logged_path(request), exc_info=exc)
    return _page(
        request, 500, "Erreur interne",
        "Une erreur inattendue s'est produite. Elle a été enregistrée ; réessayez plus tard.",
    )


@get("/{path:path}", name="not_found", include_in_schema=False)
async def unknown_page(path: FromPath[str]) -> None:
    """Any other URL: a matched route, so the session is read and a signed-in user keeps the menu."""
    raise NotFound()


def _user_id(request: Request) -> int | None:
    user = request.scope.get("user")
    return getattr(user, "id", None)


EXCEPTION_HANDLERS = {
    NotAuthorizedException: sign_in_required,
    NotFoundException: not_found,
    NotFound: not_found,
    PermissionDeniedException: forbidden,
    Forbidden: forbidden,
    RateLimited: rate_limited,
    RequestEntityTooLarge: too_large,
    # PostgreSQL away (see app/db/errors.py): a 503 page, never a 500
    asyncpg.PostgresConnectionError: database_unavailable,
    asyncpg.OperatorInterventionError: database_unavailable,
    asyncpg.InterfaceError: database_unavailable,
    asyncpg.InternalClientError: database_unavailable,
    OSError: database_unavailable,  # ConnectionError, and a socket gone with its server
    HTTPException: http_error,
    Exception: server_error,
}
