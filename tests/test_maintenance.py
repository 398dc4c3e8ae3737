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


async def test_maintenance_sweeps_files_no_row_names_once_they_are_old():
    import os
    import time

    from app.config import settings
    from app.incidents.attachments import MemoryUpload, save_attachment
    from tests.factories import make_contract, make_reseller
    from app.db.tables import Contract, Incident

    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "1001", "NAS0001")
    customer = await make_customer("acme", serial="NAS0001")
    contract = await Contract.objects().first()
    incident = (await Incident.insert(Incident(contract=contract.id, company=customer.company_id, reseller=contract.reseller,
                                               created_by=customer.admin_id)).returning(Incident.id))[0]["id"]
    await save_attachment(incident, customer.admin_id, MemoryUpload("kept.txt", b"kept"))
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    old_orphan = settings.attachments_dir / ("0" * 32)
    new_orphan = settings.attachments_dir / ("1" * 32)
    old_orphan.write_bytes(b"crashed before commit")
    new_orphan.write_bytes(b"upload still committing")
    an_hour_ago = time.time() - 7200
    for path in settings.attachments_dir.iterdir():
        if path != new_orphan:
            os.utime(path, (an_hour_ago, an_hour_ago))
    removed = await run_maintenance()
    assert removed["orphan_files"] == 1
    assert not old_orphan.exists() and new_orphan.exists()
    assert len(list(settings.attachments_dir.iterdir())) == 2  # the kept file and the recent one
