"""What tests do as a person would: fetch a form, post it with its CSRF token, read the answer."""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode

import httpx

DEFAULT_PASSWORD = "correct horse battery staple"


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The CSRF token a page would carry in its forms (the cookie set by any GET)."""
    if "csrftoken" not in client.cookies:
        await client.get("/login")
    return client.cookies["csrftoken"]


async def post_form(client: httpx.AsyncClient, url: str,
                    data: dict[str, str] | list[tuple[str, str]] | None = None, **kwargs) -> httpx.Response:
    """Submit a form as a browser without JavaScript does: url-encoded, hidden CSRF field.

    A list of pairs sends repeated fields (checkboxes of the same name).
    """
    token = await csrf_token(client)
    pairs = [("_csrf_token", token), *(data.items() if isinstance(data, dict) else data or [])]
    return await client.post(url, content=urlencode(pairs),
                             headers={"content-type": "application/x-www-form-urlencoded",
                                      **kwargs.pop("headers", {})}, **kwargs)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = DEFAULT_PASSWORD,
                  *, remember: bool = False) -> httpx.Response:
    data = {"username": username, "password": password}
    if remember:
        data["remember"] = "on"
    return await post_form(client, "/login", data)


def field_error(page: str, name: str) -> str | None:
    """The message shown beside field `name`, or None."""
    match = re.search(rf'<p class="error" id="e-{re.escape(name)}">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else None


def field_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input id="f-{re.escape(name)}" name="{re.escape(name)}"[^>]*?value="([^"]*)"',
                      page, re.S)
    return html.unescape(match.group(1)) if match else None


def text_of(page: str) -> str:
    """The visible text of a page, tags removed and white space folded."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def outbox() -> list[Message]:
    """The e-mails written to the outbox folder, oldest first."""
    from app.config import settings

    folder: Path = settings.outbox_dir
    if not folder.exists():
        return []
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # headers decoded
            for path in sorted(folder.glob("*.eml"))]


def body_of(message: Message) -> str:
    """The text of a plain e-mail, as its recipient reads it."""
    return message.get_payload(decode=True).decode()


def link_in(message: Message) -> str:
    body = body_of(message)
    match = re.search(r"https?://\S+", body)
    assert match, body
    return match.group(0)
