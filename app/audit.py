"""The audit trail: who did what security-relevant thing, from where."""

from __future__ import annotations

import logging
from typing import Any

from app.db.tables import AuditEvent

log = logging.getLogger("app.audit")


async def record(
    action: str,
    *,
    actor_id: int | None = None,
    object_type: str = "",
    object_id: object = "",
    ip: str = "",
    **details: Any,
) -> None:
    """Write one audit event (inside the caller's transaction when there is one) and log it."""
    await AuditEvent.insert(
        AuditEvent(
            actor=actor_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            ip=ip[:64],
            details=details,
        )
    )
    log.info("%s actor=%s %s=%s ip=%s %s", action, actor_id, object_type, object_id, ip, details)
