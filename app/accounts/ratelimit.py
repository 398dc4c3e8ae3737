"""Sliding-window rate limits kept in PostgreSQL, so that every app process counts the same attempts.

A limit never locks anyone out for good: attempts older than the window stop counting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.db.tables import RateLimitHit
from app.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    bucket: str
    attempts: int
    window: timedelta
    message: str


SIGN_IN_PER_USERNAME = Limit(
    "sign-in-user", 10, timedelta(minutes=15),
    "Trop de tentatives de connexion pour cet identifiant. Réessayez dans {minutes} minutes.",
)
SIGN_IN_PER_ADDRESS = Limit(
    "sign-in-ip", 30, timedelta(minutes=15),
    "Trop de tentatives de connexion depuis votre réseau. Réessayez dans {minutes} minutes.",
)
REGISTRATION_PER_ADDRESS = Limit(
    "register-ip", 20, timedelta(hours=1),
    "Trop de demandes d'inscription depuis votre réseau. Réessayez dans {minutes} minutes.",
)
RESET_PER_IDENTIFIER = Limit(
    "reset-id", 5, timedelta(hours=1),
    "Trop de demandes de réinitialisation. Réessayez dans {minutes} minutes.",
)
RESET_PER_ADDRESS = Limit(
    "reset-ip", 20, timedelta(hours=1),
    "Trop de demandes de réinitialisation depuis votre réseau. Réessayez dans {minutes} minutes.",
)
ACTIVATION_PER_COMPANY = Limit(
    "activation", 10, timedelta(hours=1),
    "Trop de tentatives d'activation pour votre société. Réessayez dans {minutes} minutes.",
)
UPLOADS_PER_USER = Limit(
    "upload", 60, timedelta(minutes=10),
    "Trop de fichiers envoyés en peu de temps. Réessayez dans {minutes} minutes.",
)


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def check(limit: Limit, key: str) -> None:
    """Raise RateLimited when `key` has used up its attempts in the window."""
    since = _now() - limit.window
    rows = await RateLimitHit.raw(
        "SELECT count(*) AS n, min(at) AS oldest FROM rate_limit_hit "
        "WHERE bucket = {} AND key = {} AND at > {}",
        limit.bucket, key.lower(), since,
    )
    if rows[0]["n"] < limit.attempts:
        return
    retry_after = max(1, int((rows[0]["oldest"] + limit.window - _now()).total_seconds()))
    raise RateLimited(limit.message.format(minutes=math.ceil(retry_after / 60)), retry_after)


async def hit(limit: Limit, key: str) -> None:
    """Count one attempt against `key`."""
    await RateLimitHit.insert(RateLimitHit(bucket=limit.bucket, key=key.lower()[:200], at=_now()))


async def hit_and_check(limit: Limit, key: str) -> None:
    """Count one attempt, then refuse it when it went over the limit."""
    await check(limit, key)
    await hit(limit, key)


async def forget(limit: Limit, key: str) -> None:
    """Clear the attempts of `key` (a successful password reset frees the username)."""
    await RateLimitHit.delete().where(
        (RateLimitHit.bucket == limit.bucket) & (RateLimitHit.key == key.lower())
    )


async def purge_old_hits(older_than: timedelta = timedelta(days=1)) -> None:
    await RateLimitHit.delete().where(RateLimitHit.at < _now() - older_than)
