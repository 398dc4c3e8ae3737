"""The reseller queue's proposed changes, measured on the generated data (EXPLAIN ANALYZE, median of
3) inside ONE rolled-back transaction: the database is left as it was. The app is not changed:
the queries are the ones `app/incidents/handling.py queue()` sends (captured as in
query_plans.py) and their rewrites below.

    python -m bench.proposals
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database, query_plans  # noqa: E402

REPEAT = 3


async def _capture(known: dict) -> dict[str, tuple[str, tuple]]:
    """label → (sql, args) of the queue's count and page queries."""
    from app.accounts.sessions import CurrentUser
    from app.incidents import handling

    query_plans._install_recorder()
    agent = CurrentUser(known["agent"]["id"], 0, "bench_agent", "", "", "", "agent", None, known["agent"]["reseller_id"])
    out = {}
    for label, kwargs in (("all", {}), ("open", {"status": "open"}), ("serial", {"query": known["serial"]})):
        query_plans._captured.clear()
        query_plans._label[0] = label
        await handling.queue(agent, **kwargs)
        query_plans._label[0] = ""
        count, page = query_plans._captured[0], query_plans._captured[1]
        out[f"{label}: count"] = (count.query, count.args)
        out[f"{label}: page"] = (page.query, page.args)
    return out


async def _capture_contracts(known: dict) -> dict[str, tuple[str, tuple]]:
    """Mes contrats' page queries (company 1, the company with the most contracts)."""
    from app.contracts import services

    query_plans._install_recorder()
    out = {}
    for label, kwargs in (("contracts p1", {}), ("contracts p10", {"page": 10}),
                          ("contracts search", {"query": known["company"]["search"]})):
        query_plans._captured.clear()
        query_plans._label[0] = label
        await services.list_company_contracts(1, **kwargs)
        query_plans._label[0] = ""
        page = query_plans._captured[1]
        out[label] = (page.query, page.args)
    return out


async def _time(connection, sql: str, args: tuple) -> tuple[float, list[str]]:
    times, access = [], []
    for _ in range(REPEAT):
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
        plan = json.loads(rows[0][0])[0]
        times.append(plan["Execution Time"])
        access = query_plans._nodes(plan["Plan"])
    return round(statistics.median(times), 2), list(dict.fromkeys(access))


def _reseller_on_incident(sql: str) -> str:
    """The rewrite once incident carries its contract's reseller (`i.reseller`)."""
    return sql.replace("c.reseller = $", "i.reseller = $")


_SERIAL_EXISTS = re.compile(r"OR EXISTS \(SELECT 1 FROM article s WHERE s\.contract = c\.id AND s\.serial_number LIKE (\$\d+)\)")


def _serial_exact(sql: str, args: tuple, serial: str) -> tuple[str, tuple]:
    """Fast path: the query is a whole NAS serial (the label's) → the unique partial index."""
    where_start = sql.index("WHERE")
    head = sql[:where_start]
    tail = sql[where_start:]
    search = re.search(r" AND \(i\.number LIKE .*?\)\)", tail, re.S)
    tail = tail[:search.start()] + f" AND i.contract = (SELECT contract FROM article WHERE kind = 'nas' " \
        f"AND serial_number = ${len(args) + 1})" + tail[search.end():]
    return head + tail, (*args, serial)


def _serial_hashed(sql: str) -> str:
    """Substring search kept, but each condition evaluated once as a set, not once per incident."""
    sql = _SERIAL_EXISTS.sub(r"OR c.id IN (SELECT s.contract FROM article s WHERE s.serial_number LIKE \1)", sql)
    return re.sub(r"OR co\.name ILIKE (\$\d+)", r"OR i.company IN (SELECT id FROM company WHERE name ILIKE \1)", sql)


async def measure(known: dict, log=print) -> list[dict]:
    import asyncpg

    queries = await _capture(known)
    contract_queries = await _capture_contracts(known)
    connection = await asyncpg.connect(known["database_url"])
    rows: list[dict] = []

    async def record(proposal: str, label: str, sql: str, args: tuple) -> None:
        ms, access = await _time(connection, sql, args)
        rows.append({"proposal": proposal, "query": label, "ms": ms, "access": access})
        log(f"  {proposal:<58} {label:<15} {ms:>10.2f} ms  {', '.join(access)[:100]}")

    transaction = connection.transaction()
    await transaction.start()
    try:
        for label, (sql, args) in contract_queries.items():
            await record("as the app sends it", label, sql, args)
        await connection.execute("CREATE INDEX bench_contract_company_order ON contract (company, ends_on DESC, number)")
        await connection.execute("ANALYZE contract")
        for label, (sql, args) in contract_queries.items():
            await record("+ index contract (company, ends_on DESC, number)", label, sql, args)
        for label, (sql, args) in queries.items():
            await record("as the app sends it", label, sql, args)
        await connection.execute("CREATE INDEX bench_notification_unread_incident ON notification "
                                 "(recipient, incident) WHERE read_at IS NULL")
        await connection.execute("ANALYZE notification")
        for label in ("all: page", "open: page", "serial: page"):
            await record("+ index notification (recipient, incident) unread", label, *queries[label])
        await connection.execute("ALTER TABLE incident ADD COLUMN reseller integer")
        await connection.execute("UPDATE incident i SET reseller = c.reseller FROM contract c WHERE c.id = i.contract")
        await connection.execute("CREATE INDEX bench_incident_reseller_activity ON incident "
                                 "(reseller, last_activity_at DESC, id DESC) WHERE status <> 'draft'")
        await connection.execute("CREATE INDEX bench_incident_reseller_status ON incident (reseller, status) "
                                 "WHERE status <> 'draft'")
        await connection.execute("ANALYZE incident")
        for label, (sql, args) in queries.items():
            await record("+ incident.reseller, indexes (reseller, last_activity_at)", label,
                         _reseller_on_incident(sql), args)
    finally:
        await transaction.rollback()
        await connection.close()
    return rows


def main() -> None:
    known = json.loads((database.BENCH_DIR / "known.json").read_text())
    database.server_url()
    os.environ["DATABASE_URL"] = known["database_url"]
    rows = asyncio.run(measure(known))
    (database.BENCH_DIR / "proposals.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
