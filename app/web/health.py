"""/healthz: 200 when the database answers, 503 otherwise (for load balancers and orchestrators)."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from piccolo.engine import engine_finder


@get("/healthz", name="healthz", include_in_schema=False)
async def healthz() -> Response:
    try:
        await asyncio.wait_for(engine_finder().run_ddl("SELECT 1"), timeout=2)
    except Exception as error:  # any failure to answer means unhealthy
        return Response({"status": "unavailable", "database": repr(error)[:200]}, status_code=503)
    return Response({"status": "ok"}, status_code=200)
