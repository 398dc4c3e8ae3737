"""Every list query of the app has an index to use (issue 8), checked at a small scale of the
benchmark's data so that a regression shows here before the benchmark finds it.

The benchmark's own tools do the work, in a subprocess of their own (they set DATABASE_URL for
the app's services they call): bench.generate fills a database of this test's own on the test
server, bench.query_plans calls the services, records each statement and EXPLAINs it with
`enable_seqscan = off`. A Seq Scan, or a whole index read without an index condition, that
survives that setting means no index can serve the query.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]

# What bench.query_plans records; a query dropped from it must be dropped here too, knowingly.
EXPECTED = {
    "session lookup (every request)", "Mes contrats: page 1", "Mes contrats: page 10", "Mes contrats: search",
    "Mes contrats: search by serial", "contract detail", "contract detail: draft in progress",
    "Mes incidents: page 1", "Mes incidents: status=new", "Mes incidents: status=closed, page 5",
    "incident page", "incident messages", "incident history", "queue: status=open", "queue: all",
    "queue: search by serial", "queue: search by company name", "queue: assigned to me",
    "reseller incident: staff", "reseller contracts: page 1", "reseller contracts: page 10",
    "reseller contracts: search by serial", "reseller clients: page 1", "reseller client: incidents",
    "notifications: panel", "notifications: agent panel",
    "notifications: unread count", "notifications: latest id", "notifications: replay after",
}


def _run(module: str, *args: str, env: dict) -> None:
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{module} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


async def test_every_list_query_uses_an_index(tmp_path):
    import asyncpg

    server = urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/postgres"))
    name = f"portal_plans_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BENCH_DATABASE_URL": server, "BENCH_DATABASE_NAME": name,
           "BENCH_DIR": str(tmp_path)}
    try:
        await asyncio.to_thread(_run, "bench.generate", "--scale", "0.01", env=env)
        await asyncio.to_thread(_run, "bench.query_plans", env=env)
    finally:
        connection = await asyncpg.connect(server)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()
    result = json.loads((tmp_path / "query_plans.json").read_text())
    assert {row["query"] for row in result["queries"]} == EXPECTED
    without_index = {f"{row['query']}: {row['sql'][:120]}": row["no_index"] for row in result["queries"]
                     if row["no_index"]}
    assert not without_index, json.dumps(without_index, indent=2, ensure_ascii=False)
