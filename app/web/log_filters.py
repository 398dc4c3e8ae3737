"""Link tokens kept out of the logs (ASVS V7.1.1).

Reset and invitation links carry a bearer secret in their path (`/password/reset/<token>`, see
`app.accounts.services.password_link`): whoever reads it in a log could choose the user's
password. The server's access log and our own refusal lines write request paths, so a filter on
those loggers masks the token before any handler formats the line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

LINK_TOKEN = re.compile(r"(/password/reset/)[^/?#\s\"']+")
MASK = "[masqué]"
# uvicorn's access log, and the 403/404 lines of app/web/errors.py (a refused CSRF token on
# POST /password/reset/<token> is one).
PATH_LOGGERS = ("uvicorn.access", "app.web.errors")


def mask_link_tokens(text: str) -> str:
    """`text` with the token of every reset or invitation link replaced by a mark."""
    return LINK_TOKEN.sub(rf"\g<1>{MASK}", text)


def _masked(value: object) -> object:
    return mask_link_tokens(value) if isinstance(value, str) else value


class LinkTokenFilter(logging.Filter):
    """Masks link tokens in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_link_tokens(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_masked(value) for value in record.args)
        return True


def mask_link_tokens_in_logs() -> None:
    """Install the filter on the loggers that write request paths (once, however often called)."""
    for name in PATH_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, LinkTokenFilter) for existing in logger.filters):
            logger.addFilter(LinkTokenFilter())
