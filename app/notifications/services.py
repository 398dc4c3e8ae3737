"""Notifications: rows written in the caller's transaction, announced by NOTIFY on commit.

Rows first, pushes second: a notification exists exactly when its cause does (same transaction),
and `pg_notify` inside that transaction is delivered only if it commits, so rolled-back work
notifies no one. Every app process LISTENs (see broker.py) and routes to its own open streams.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from app.db.tables import Notification, User
from app.notifications.channel import notification_created, notifications_read, publish
from app.pagination import TOTAL, Count, Page, fetch_page, page_bounds

async def reseller_staff(reseller_id: int) -> list[int]:
    """Every active user of a reseller (administrators and agents handle incidents alike)."""
    rows = await User.select(User.id).where((User.reseller == reseller_id) & (User.is_active == True))  # noqa: E712
    return [row["id"] for row in rows]


async def company_users(company_id: int) -> list[int]:
    rows = await User.select(User.id).where((User.company == company_id) & (User.is_active == True))  # noqa: E712
    return [row["id"] for row in rows]


async def notify(
    recipients: Iterable[int],
    *,
    kind: str,
    title: str,
    body: str = "",
    incident_id: int | None = None,
    quote_request_id: int | None = None,
) -> list[int]:
    """Write one notification per recipient and announce them; returns their ids.

    One statement whatever the number of recipients: the recipients travel as one array
    parameter (a row of parameters each would stop at asyncpg's 32,767 arguments, ~3,600 users).
    """
    users = list(dict.fromkeys(recipients))
    if not users:
        return []
    inserted = await Notification.raw(
        """INSERT INTO notification (recipient, kind, title, body, incident, quote_request)
           SELECT recipient, {}, {}, {}, {}, {} FROM unnest({}::integer[]) WITH ORDINALITY AS r (recipient, n)
           ORDER BY n
           RETURNING id, recipient""",
        kind, title, body, incident_id, quote_request_id, users,
    )
    await publish(notification_created(row["recipient"], row["id"]) for row in inserted)
    return [row["id"] for row in inserted]


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    incident_number: str | None
    contract_number: str | None
    quote_request_id: int | None = None

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


_VIEW_COLUMNS = """n.id, n.kind, n.title, n.body, n.created_at, n.read_at, n.quote_request AS quote_request_id,
       i.number AS incident_number, coalesce(c.number, qc.number) AS contract_number"""
_VIEW_FROM = """
FROM notification n
LEFT JOIN incident i ON i.id = n.incident
LEFT JOIN contract c ON c.id = i.contract
LEFT JOIN quote_request q ON q.id = n.quote_request
LEFT JOIN contract qc ON qc.id = q.contract
"""
_VIEW_SQL = f"SELECT {_VIEW_COLUMNS} {_VIEW_FROM}"


async def recent(user_id: int, *, page: int = 1, per_page: int = 20) -> Page[NotificationView]:
    """The user's notifications, newest first."""
    number, limit, offset = page_bounds(page, per_page)
    rows, total, lower_bound = await fetch_page(
        Notification,
        f"SELECT {TOTAL}, {_VIEW_COLUMNS} {_VIEW_FROM}" + "WHERE n.recipient = {} ORDER BY n.id DESC LIMIT {} OFFSET {}",
        user_id, limit, offset,
        count=Count.up_to("FROM notification WHERE recipient = {}", user_id, offset=offset), offset=offset,
    )
    return Page([NotificationView(**row) for row in rows], number, total, per_page, total_is_lower_bound=lower_bound)


async def after(user_id: int, last_id: int, *, limit: int = 200) -> list[NotificationView]:
    """What a reconnecting stream missed: the user's notifications newer than `last_id`, oldest first."""
    rows = await Notification.raw(_VIEW_SQL + "WHERE n.recipient = {} AND n.id > {} ORDER BY n.id LIMIT {}",
                                  user_id, last_id, limit)
    return [NotificationView(**row) for row in rows]


async def by_ids(ids: list[int]) -> dict[int, tuple[int, NotificationView]]:
    """Rows for the broker: id → (recipient, view), in one query for a whole NOTIFY payload."""
    rows = await Notification.raw(f"SELECT n.recipient, {_VIEW_COLUMNS} {_VIEW_FROM}" + "WHERE n.id = ANY({})", ids)
    return {row["id"]: (row.pop("recipient"), NotificationView(**row)) for row in map(dict, rows)}


# Raw statements: every stream opens with these two, and Piccolo's query building cost more than
# PostgreSQL's answer (a third of the server's time while 10,000 streams opened).
async def unread_count(user_id: int) -> int:
    rows = await Notification.raw(
        "SELECT count(*) AS n FROM notification WHERE recipient = {} AND read_at IS NULL", user_id)
    return rows[0]["n"]


async def latest_id(user_id: int) -> int:
    rows = await Notification.raw(
        "SELECT coalesce(max(id), 0) AS id FROM notification WHERE recipient = {}", user_id)
    return rows[0]["id"]


def target_url(view: NotificationView, *, reseller: bool) -> str:
    """Where a notification leads: the incident on the right tab, or the contract of a quote."""
    if view.incident_number:
        base = f"/reseller/incidents/{view.incident_number}" if reseller else f"/incidents/{view.incident_number}"
        return base + ("/messages" if view.kind == "new_message" else "")
    if view.contract_number:
        if reseller:
            return f"/reseller/quotes/{view.quote_request_id}" if view.quote_request_id else "/reseller/quotes"
        return f"/contracts/{view.contract_number}#extensions"
    return "/notifications"


async def open_notification(user_id: int, notification_id: int) -> NotificationView | None:
    """Mark one of the user's notifications read; None when it is not theirs."""
    rows = await Notification.raw(_VIEW_SQL + "WHERE n.id = {} AND n.recipient = {}", notification_id, user_id)
    if not rows:
        return None
    await Notification.update({Notification.read_at: datetime.now(timezone.utc)}).where(
        (Notification.id == notification_id) & Notification.read_at.is_null())
    await publish([notifications_read(user_id)])
    return NotificationView(**rows[0])


async def mark_all_read(user_id: int) -> None:
    await Notification.update({Notification.read_at: datetime.now(timezone.utc)}).where(
        (Notification.recipient == user_id) & Notification.read_at.is_null())
    await publish([notifications_read(user_id)])
