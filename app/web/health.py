"""/healthz: 200 when the database answers, 503 otherwise (for load balancers and orchestrators).

The 503 body is fixed: why the database did not answer goes to the log, never to the client.
"""

from __future__ import annotations

import asyncio
import logging

from litestar import Response, get
from piccolo.engine import engine_finder

log = logging.getLogger(__name__)


@get("/healthz", name="healthz", include_in_schema=False)
async def healthz() -> Response:
    try:
        await asyncio.wait_for(engine_finder().run_ddl("SELECT 1"), timeout=2)
    except Exception as error:  # any failure to answer means unhealthy
        log.warning("healthz: database unavailable: %r", error)
        return Response({"status": "unavailable"}, status_code=503)
    return Response({"status": "ok"}, status_code=200)
