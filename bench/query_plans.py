"""EXPLAIN every list query of the app, as the app sends it, and report sequential scans.

The services are called for the known objects of the generated data (company 1, bench_admin,
bench_agent, the serial...) while asyncpg's `Connection.fetch` records each statement and its
arguments; every statement is then explained on its own connection:
  - `EXPLAIN (ANALYZE, BUFFERS)` in a rolled-back transaction: the real plan and time at this scale;
  - the same with `enable_seqscan = off`: a Seq Scan that survives it has NO usable index — at a
    small scale the planner rightly prefers seq scans on small tables, so this is the check that
    catches a missing index before the benchmark does.
A Seq Scan on a large table in either is reported. `--proposals` measures candidate indexes
(created inside the rolled-back transaction: the database is left as it was).

    python -m bench.query_plans [--proposals]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database  # noqa: E402

LARGE_TABLES = {"company", "app_user", "contract", "article", "incident", "incident_article",
                "incident_status_change", "message", "notification", "user_session", "delivery_address",
                "attachment", "audit_event", "rate_limit_hit"}

# Candidate changes measured by --proposals: (name, DDL run inside the rolled-back transaction,
# queries (labels) whose plans they should improve). The earlier ones (the queue's unread marker,
# the incident-side reseller) are in the migrations now; add the next candidate here.
PROPOSALS: list[tuple[str, list[str], list[str]]] = []


@dataclass
class Captured:
    label: str
    query: str
    args: tuple
    plans: dict = field(default_factory=dict)


_captured: list[Captured] = []
_label = [""]


def _install_recorder() -> None:
    import asyncpg.connection

    original = asyncpg.connection.Connection.fetch
    if getattr(original, "_bench_recorder", False):
        return

    async def fetch(self, query, *args, **kwargs):
        if _label[0] and query.lstrip().upper().startswith(("SELECT", "WITH")):
            _captured.append(Captured(_label[0], query, args))
        return await original(self, query, *args, **kwargs)

    fetch._bench_recorder = True  # type: ignore[attr-defined]
    asyncpg.connection.Connection.fetch = fetch


async def _call_services(known: dict) -> None:
    from app.accounts.sessions import CurrentUser, current_user_for
    from app.contracts import reseller_services
    from app.contracts import services as contracts
    from app.incidents import handling
    from app.incidents import services as incidents
    from app.incidents.wizard import draft_for_contract
    from app.notifications import services as notifications
    from bench.load import open_sessions

    admin_id, agent_id = known["admin"]["id"], known["agent"]["id"]
    admin = CurrentUser(admin_id, 0, "bench_admin", "", "", "", "admin", 1, None)
    agent = CurrentUser(agent_id, 0, "bench_agent", "", "", "", "agent", None, known["agent"]["reseller_id"])
    token = (await open_sessions(known["database_url"], [admin_id]))[0]
    number = known["company"]["contract_number"]

    async def record(label: str, call) -> None:
        _label[0] = label
        try:
            await call
        finally:
            _label[0] = ""

    await record("session lookup (every request)", current_user_for(token))
    await record("Mes contrats: page 1", contracts.list_company_contracts(1))
    await record("Mes contrats: page 10", contracts.list_company_contracts(1, page=10))
    await record("Mes contrats: search", contracts.list_company_contracts(1, query=known["company"]["search"]))
    await record("Mes contrats: search by serial", contracts.list_company_contracts(1, query=known["serial"][:6]))
    detail = await contracts.contract_detail(1, number)
    await record("contract detail", contracts.contract_detail(1, number))
    await record("contract detail: draft in progress", draft_for_contract(admin, detail.id))
    await record("Mes incidents: page 1", incidents.list_company_incidents(1))
    await record("Mes incidents: status=new", incidents.list_company_incidents(1, status="new"))
    await record("Mes incidents: status=closed, page 5", incidents.list_company_incidents(1, status="closed", page=5))
    view = await incidents.load_incident(known["incident_number"], company_id=1)
    await record("incident page", incidents.load_incident(known["incident_number"], company_id=1))
    await record("incident messages", incidents.thread(view.id))
    await record("incident history", incidents.status_history(view.id))
    await record("queue: status=open", handling.queue(agent, status="open"))
    await record("queue: all", handling.queue(agent))
    await record("queue: search by serial", handling.queue(agent, query=known["serial"]))
    await record("queue: search by company name", handling.queue(agent, query="Société 0001"))
    await record("queue: assigned to me", handling.queue(agent, assignee="mine"))
    await record("reseller incident: staff", handling.staff(agent.reseller_id))
    await record("reseller contracts: page 1", reseller_services.list_contracts(agent.reseller_id))
    await record("reseller contracts: page 10", reseller_services.list_contracts(agent.reseller_id, page=10))
    await record("reseller contracts: search by serial",
                 reseller_services.list_contracts(agent.reseller_id, query=known["serial"]))
    await record("reseller clients: page 1", reseller_services.list_clients(agent.reseller_id))
    await record("reseller client: incidents", reseller_services.client_incidents(agent.reseller_id, 1))
    await record("notifications: panel", notifications.recent(admin_id))
    await record("notifications: agent panel", notifications.recent(agent_id))
    await record("notifications: unread count", notifications.unread_count(agent_id))
    await record("notifications: latest id", notifications.latest_id(agent_id))
    await record("notifications: replay after", notifications.after(agent_id, 0))


def _walk(node: dict, found: list[dict]) -> None:
    """Seq scans, and index scans without an index condition (a whole index read in order, which
    is what the planner falls back to when seq scans are off and no index fits the filter)."""
    kind = node.get("Node Type", "")
    whole_index = kind in ("Index Scan", "Index Only Scan") and not node.get("Index Cond") \
        and node.get("Filter")
    if kind == "Seq Scan" or whole_index:
        found.append({"table": node.get("Relation Name"), "node": kind, "index": node.get("Index Name"),
                      "rows": node.get("Actual Rows", node.get("Plan Rows")), "filter": node.get("Filter", "")})
    for child in node.get("Plans", ()):
        _walk(child, found)


def _nodes(node: dict) -> list[str]:
    """A one-line summary of the plan's access paths."""
    out = []
    if node.get("Node Type", "").endswith("Scan"):
        out.append(f"{node['Node Type']} {node.get('Index Name') or node.get('Relation Name', '')}".strip())
    for child in node.get("Plans", ()):
        out += _nodes(child)
    return out


async def _explain(connection, query: str, args: tuple, *, seqscan: bool, ddl: list[str] = ()) -> dict:
    transaction = connection.transaction()
    await transaction.start()
    try:
        for statement in ddl:
            await connection.execute(statement)
        if ddl:
            await connection.execute("ANALYZE notification; ANALYZE incident; ANALYZE article")
        if not seqscan:
            await connection.execute("SET LOCAL enable_seqscan = off")
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}", *args)
    finally:
        await transaction.rollback()
    plan = json.loads(rows[0][0])[0] if isinstance(rows[0][0], str) else rows[0][0][0]
    seq: list[dict] = []
    _walk(plan["Plan"], seq)
    return {"ms": round(plan["Execution Time"], 2), "seq_scans": [s for s in seq if s["table"] in LARGE_TABLES],
            "access": _nodes(plan["Plan"])}


def _same_query(a: Captured, b: Captured) -> bool:
    return a.label == b.label and a.query == b.query and a.args == b.args


async def explain_all(known: dict, *, proposals: bool = False) -> dict:
    import asyncpg

    _install_recorder()
    _captured.clear()
    await _call_services(known)
    unique: list[Captured] = []
    for item in _captured:
        if not any(_same_query(item, seen) for seen in unique):
            unique.append(item)
    connection = await asyncpg.connect(known["database_url"])
    try:
        for item in unique:
            item.plans["natural"] = await _explain(connection, item.query, item.args, seqscan=True)
            item.plans["no_seqscan"] = await _explain(connection, item.query, item.args, seqscan=False)
        measured = []
        if proposals:
            for name, ddl, labels in PROPOSALS:
                for item in unique:
                    if item.label in labels:
                        before = item.plans["natural"]["ms"]
                        after = await _explain(connection, item.query, item.args, seqscan=True, ddl=ddl)
                        measured.append({"proposal": name, "query": item.label, "sql": " ".join(item.query.split())[:160],
                                         "before_ms": before, "after_ms": after["ms"], "after_access": after["access"]})
    finally:
        await connection.close()
    report = []
    for item in unique:
        missing = item.plans["no_seqscan"]["seq_scans"]
        report.append({"query": item.label, "sql": " ".join(item.query.split())[:300],
                       "ms": item.plans["natural"]["ms"], "access": item.plans["natural"]["access"],
                       "seq_scans": item.plans["natural"]["seq_scans"], "no_index": missing})
    return {"queries": report, "proposals": measured}


def print_report(result: dict) -> None:
    for row in result["queries"]:
        flag = "NO INDEX" if row["no_index"] else ("seq scan" if row["seq_scans"] else "ok")
        print(f"  {row['query']:<42} {row['ms']:>9.2f} ms  {flag:<9} {', '.join(row['access'])[:110]}")
    for row in result["proposals"]:
        print(f"  proposal [{row['proposal']}] {row['query']}: {row['before_ms']} ms → {row['after_ms']} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposals", action="store_true", help="also measure the candidate indexes")
    args = parser.parse_args()
    known = json.loads((database.BENCH_DIR / "known.json").read_text())
    database.server_url()
    os.environ["DATABASE_URL"] = known["database_url"]
    result = asyncio.run(explain_all(known, proposals=args.proposals))
    print_report(result)
    (database.BENCH_DIR / "query_plans.json").write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
