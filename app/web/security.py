"""Security headers on every response (SPEC §5): strict CSP without inline script or style.

Applied as a `before_send` hook rather than a middleware, so that responses the router answers
itself (unknown URL, wrong method, a refused CSRF token) carry them too. What a signed-in user
gets is never stored by the browser nor by a proxy (`Cache-Control: no-store`), so the back
button after sign-out shows nothing of it; sign-out also clears what the browser kept.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Sent with the sign-out answer: the browser drops its HTTP cache and the site's storage. Not
# "cookies": the session cookie is deleted by name already, and "cookies" would also clear every
# cookie of the registrable domain (other sites on sibling hosts) for nothing.
CLEAR_SITE_DATA_ON_SIGN_OUT = '"cache", "storage"'


def security_headers(*, hsts: bool):
    """The hook adding the headers a response did not set itself (attachments bring their own CSP)."""
    headers = {
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    if hsts:
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            current = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                if name not in current:
                    current[name] = value
            # scope["user"] is set by SessionMiddleware (never for /static/, which stays cacheable);
            # downloads bring their own "private, no-store".
            if scope.get("user") is not None and "cache-control" not in current:
                current["cache-control"] = "no-store"

    return add_headers
