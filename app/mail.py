"""Outgoing e-mail: through SMTP when SMTP_URL is set, otherwise into the outbox folder.

The log names the recipient and the subject only: bodies hold reset and invitation links.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import unquote, urlparse

import aiofiles

from app.config import settings

log = logging.getLogger(__name__)


def _build(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain="portal.local")
    message.set_content(body)
    return message


async def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text e-mail."""
    message = _build(to, subject, body)
    if settings.smtp_url:
        await _send_smtp(message, settings.smtp_url)
        log.info("mail sent to %s: %s", to, subject)
        return
    settings.outbox_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    path = settings.outbox_dir / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    async with aiofiles.open(path, "wb") as out:
        await out.write(message.as_bytes())
    log.info("mail to %s written to %s: %s", to, path, subject)


async def _send_smtp(message: EmailMessage, url: str) -> None:
    import aiosmtplib

    parts = urlparse(url)  # smtp://user:pass@host:587 (STARTTLS) or smtps://host:465 (TLS)
    await aiosmtplib.send(
        message,
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if parts.scheme == "smtps" else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
        start_tls=None if parts.scheme == "smtps" else True if parts.username else None,
    )
