"""Hourly housekeeping removes what has expired and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.db.tables import RateLimitHit, UserSession
from app.maintenance import run_maintenance
from tests.factories import make_customer
from tests.support import sign_in


async def test_maintenance_removes_expired_sessions_and_old_rate_limit_rows(client, new_client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    other = new_client()
    await sign_in(other, "acme_basic")
    await UserSession.update({UserSession.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(
        UserSession.id == (await UserSession.objects().first()).id)
    await RateLimitHit.insert(RateLimitHit(bucket="sign-in-user", key="x", at=datetime.now(timezone.utc) - timedelta(days=2)),
                              RateLimitHit(bucket="sign-in-user", key="y"))
    removed = await run_maintenance()
    assert removed["sessions"] == 1
    assert await UserSession.count() == 1
    assert [hit.key for hit in await RateLimitHit.objects()] == ["y"]
