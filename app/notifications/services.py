"""Notification rows, written in the caller's transaction so they exist exactly when their cause does."""

from __future__ import annotations

from collections.abc import Iterable

from app.db.tables import Notification, User


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
    """Write one notification per recipient; returns their ids."""
    rows = [
        Notification(recipient=user_id, kind=kind, title=title, body=body, incident=incident_id,
                     quote_request=quote_request_id)
        for user_id in dict.fromkeys(recipients)
    ]
    if not rows:
        return []
    inserted = await Notification.insert(*rows).returning(Notification.id)
    return [row["id"] for row in inserted]
