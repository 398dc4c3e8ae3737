"""The one NOTIFY channel every app process listens on, and the words said on it.

A payload is space-separated tokens, so one NOTIFY can carry many events:
  n:<user>:<notification>   a notification was written for <user>
  r:<user>                  <user> read notifications (badges re-count)
  s:<session>               that session ended (its streams close)
  u:<user>[:<kept session>] every session of <user> ended, but the kept one (password change)
Publishing happens inside the writer's transaction: PostgreSQL delivers it on commit only.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.db.tables import Notification

CHANNEL = "portal_events"
PAYLOAD_LIMIT = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more


def notification_created(user_id: int, notification_id: int) -> str:
    return f"n:{user_id}:{notification_id}"


def notifications_read(user_id: int) -> str:
    return f"r:{user_id}"


def session_ended(session_id: int) -> str:
    return f"s:{session_id}"


def sessions_ended(user_id: int, kept_session_id: int | None = None) -> str:
    return f"u:{user_id}" + (f":{kept_session_id}" if kept_session_id is not None else "")


async def publish(tokens: Iterable[str]) -> None:
    """NOTIFY every process, in chunks under the payload limit."""
    chunk: list[str] = []
    size = 0
    for token in tokens:
        if size + len(token) + 1 > PAYLOAD_LIMIT and chunk:
            await _notify(" ".join(chunk))
            chunk, size = [], 0
        chunk.append(token)
        size += len(token) + 1
    if chunk:
        await _notify(" ".join(chunk))


async def _notify(payload: str) -> None:
    await Notification.raw("SELECT pg_notify({}, {})", CHANNEL, payload)
