"""docs/PERFORMANCE.md from the measured results (bench/results/scale-*.json) and the written
analysis (bench/analysis.md). `make bench` calls it; `python -m bench.report` re-renders."""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
ANALYSIS = HERE / "analysis.md"
DOC = HERE.parent / "docs" / "PERFORMANCE.md"


def _yes(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**yes**" if ok else "**no**")


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, held?) for issue 8's targets."""
    rows: list[tuple[str, str, bool | None]] = []
    load = result.get("load")
    if load:
        customer = [r for r in load["product"] if r["customer"]]
        worst_ratio = min(customer, key=lambda r: r["rps_ratio"]) if customer else None
        worst_p99 = max(customer, key=lambda r: r["p99_ratio"] or 0) if customer else None
        if worst_ratio:
            rows.append(("every customer page ≥ 50 % of the ceiling's req/s",
                         f"lowest: {worst_ratio['page']} at {worst_ratio['rps_ratio']:.0%}",
                         all(r["rps_ratio"] >= 0.5 for r in customer)))
            rows.append(("every customer page p99 ≤ 2 × the ceiling's",
                         f"highest: {worst_p99['page']} at {worst_p99['p99_ratio']} ×",
                         all((r["p99_ratio"] or 0) <= 2 for r in customer)))
        search = next((r for r in load["product"] if "search by serial" in r["page"]), None)
        if search:
            measured = f"{search['p99_ms']} ms" if search["requests"] else "no request completed within 10 s"
            rows.append(("reseller search by serial p99 < 100 ms", measured,
                         bool(search["requests"]) and search["p99_ms"] < 100))
    for run in (result.get("sse") or {}).get("runs", []):
        if run.get("streams") == max(r.get("streams", 0) for r in result["sse"]["runs"]) and "targeted" in run:
            n = run["streams"]
            rows.append((f"10,000 SSE streams on one process (run: {n:,})", f"{run['open']:,} open, {run['failed']} failed",
                         run["open"] >= 10_000 and run["failed"] == 0 if n >= 10_000 else None))
            rows.append((f"targeted event p99 < 50 ms ({n:,} streams)", f"{run['targeted']['p99_ms']} ms",
                         run["targeted"]["p99_ms"] < 50))
            rows.append((f"broadcast p99 < 1 s ({n:,} streams)", f"{run['broadcast']['p99_ms']:,} ms",
                         run["broadcast"]["p99_ms"] < 1000))
            rows.append((f"< 40 KB per stream ({n:,} streams)", f"{run['kb_per_stream']} KB",
                         run["kb_per_stream"] < 40))
    if result.get("upload"):
        rows.append(("a 20 MB upload adds < 8 MB to the server", f"+{result['upload']['max_growth_mb']} MB (max of 3)",
                     result["upload"]["max_growth_mb"] < 8))
    return rows


def _load_table(load: dict) -> list[str]:
    rounds = load.get("rounds", 1)
    lines = [f"Load generator: **{load['client']}**, {load['connections']} connections, {load['duration_s']:g} s per "
             f"page after a 2 s warm-up, {load['workers']} uvicorn workers (access log off) for both apps. "
             f"Each page's {load['duration_s']:g} s are {rounds} slices, each right after a slice of the ceiling "
             f"(20-row table, 1 query) of the same length: its ratios are to that ceiling beside it. The ceiling "
             f"measured whole before and after the pages: **{load['ceiling_rps']:,} req/s, p99 "
             f"{load['ceiling_p99_ms']} ms** (mean).", "",
             "| page | req/s | ceiling beside it, req/s | ratio | p50 ms | p99 ms | ceiling's p99 ms | p99 ratio | errors "
             "| server CPU s | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in load["ceiling"]:
        lines.append(f"| {row['page']} ({row['round']}) | {row['rps']:,} | — | — | {row['p50_ms']} | {row['p99_ms']} | — "
                     f"| — | {row['errors'] + row['unexpected_status']} | {row['server_cpu_s']} | {row['load_average']} |")
    for row in load["product"]:
        mark = "" if row["customer"] else " †"
        beside = row.get("ceiling_rps", load["ceiling_rps"])
        beside_p99 = row.get("ceiling_p99_ms", load["ceiling_p99_ms"])
        if row["requests"] == 0:
            lines.append(f"| {row['page']}{mark} | 0 | {beside:,} | 0 % | none completed within wrk's 10 s timeout |||| "
                         f"{row['errors'] + row['unexpected_status']} | {row['server_cpu_s']} | {row['load_average']} |")
            continue
        lines.append(f"| {row['page']}{mark} | {row['rps']:,} | {beside:,} | {row['rps_ratio']:.0%} | {row['p50_ms']} | "
                     f"{row['p99_ms']} | {beside_p99} | {row['p99_ratio']} | {row['errors'] + row['unexpected_status']} | "
                     f"{row['server_cpu_s']} | {row['load_average']} |")
    lines += ["", "† not a customer page: the sign-in POST is deliberately expensive (argon2id, "
              "RFC 9106 low-memory profile: 64 MiB, 3 passes) and the reseller queue has its own target."]
    return lines


def _sse_table(sse: dict) -> list[str]:
    lines = [f"File-descriptor limit in the bench: soft {sse['fd_limit'][0]}, hard {sse['fd_limit'][1]} "
             "(`ulimit -Hn`; raised with `resource.setrlimit`, inherited by the server).", "",
             "| streams | users | open / failed | open time s | RSS before → after MB | KB / stream | targeted p50 / p99 ms "
             "| broadcast p50 / p99 ms | broadcast: write ms, last delivery ms | server CPU s during events |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for run in sse["runs"]:
        if "skipped" in run:
            lines.append(f"| {run['streams']:,} | skipped: {run['skipped']} |||||||||")
            continue
        rounds = "; ".join(f"{r['write_ms']}, {r['last_ms']}" for r in run["broadcast"]["rounds"])
        lines.append(f"| {run['streams']:,} | {run['users']:,} | {run['open']:,} / {run['failed']} | {run['open_seconds']} | "
                     f"{run['rss_before_mb']} → {run['rss_after_mb']} | {run['kb_per_stream']} | "
                     f"{run['targeted']['p50_ms']} / {run['targeted']['p99_ms']} | "
                     f"{run['broadcast']['p50_ms']:,} / {run['broadcast']['p99_ms']:,} | {rounds} | "
                     f"{run['server_cpu_s_during_events']} |")
    lines += ["", "Targeted: 20 events, each to every user of one company (8 users, every one with a stream) among "
              "all the idle streams. Broadcast: 3 events, each to every user that has a stream (one notification row "
              "per user, as `notify()` writes them). Latency: from just before COMMIT to the client reading the "
              "event's `id:` line."]
    return lines


def _plans_table(plans: dict) -> list[str]:
    lines = ["| query (as the service sends it) | ms at this scale | access paths | seq scan on a large table | "
             "no usable index (seq scans off) |", "|---|---:|---|---|---|"]
    for row in plans["queries"]:
        seq = ", ".join(sorted({s["table"] for s in row["seq_scans"]})) or "—"
        missing = ", ".join(sorted({f"{s['table']}" + (f" (whole {s['index']})" if s.get("index") else "")
                                    for s in row["no_index"]})) or "—"
        access = ", ".join(dict.fromkeys(row["access"]))
        lines.append(f"| {row['query']} | {row['ms']} | {access} | {seq} | {missing} |")
    if plans.get("proposals"):
        lines += ["", "Candidate indexes, measured in a rolled-back transaction (EXPLAIN ANALYZE before → after):", "",
                  "| candidate | query | before ms | after ms | access after |", "|---|---|---:|---:|---|"]
        for row in plans["proposals"]:
            lines.append(f"| {row['proposal']} | {row['query']} | {row['before_ms']} | {row['after_ms']} | "
                         f"{', '.join(dict.fromkeys(row['after_access']))} |")
    return lines


def _profiles(profiles: dict) -> list[str]:
    lines = []
    for page, summary in profiles.items():
        lines += [f"**{page}** ({summary['samples']:,} samples of one worker at 200 Hz, under the same load):", "",
                  "| where the worker's time goes (innermost known library) | share |", "|---|---:|"]
        lines += [f"| {name} | {share} % |" for name, share in summary["categories"]]
        lines += ["", "App functions (inclusive): " + "; ".join(
            f"`{name.split(' (')[0]}` {share} %" for name, share in summary["app_functions_inclusive"][:8]), ""]
    return lines


def render(result: dict) -> list[str]:
    gen = result["generation"]
    m = result["machine"]
    scale = result["scale"]
    lines = [f"## Scale {scale:g} ({'full data set' if scale >= 1 else 'reduced data set'}), run of {result['started']}",
             "",
             f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}, "
             f"uvicorn {m['uvicorn']}, {m['wrk'] or 'no wrk'}; load average at start {m['load_average_at_start']} "
             "(the machine is shared: the load average column shows what else ran).", "",
             "Command: `" + " ".join(["python -m bench.run", *result["commands"][1:]]) + "` "
             f"({result['seconds']} s in all).", "",
             *[f"Then, at {run['started']}, `" + " ".join(["python -m bench.run", *run["commands"][1:]])
               + f"` redid {', '.join(run['steps']) or 'no step'} ({run.get('seconds', '?')} s); the rest is the "
               "run above's.\n" for run in result.get("merged_runs", [])],
             "### Data", "",
             "| table | rows |", "|---|---:|"]
    for table, count in gen["rows"].items():
        if table != "database_bytes":
            lines.append(f"| {table} | {count:,} |")
    lines += [f"| database size | {gen['rows']['database_bytes'] / 2**30:.2f} GiB |", "",
              f"Generated in {gen['seconds']['total']} s ({gen['seconds']}). Known objects: company 1 holds "
              f"{gen['company']['contracts']:,} contracts and {gen['company']['incidents']:,} incidents; reseller 1 "
              f"handles {gen['reseller_incidents']:,} incidents; contract page {gen['company']['contract_number']}, "
              f"incident {gen['incident_number']}, serial searched {gen['serial']}.", ""]
    rows = targets(result)
    if rows:
        lines += ["### Targets of issue 8", "", "| target | measured | holds |", "|---|---|---|"]
        lines += [f"| {t} | {m_} | {_yes(ok)} |" for t, m_, ok in rows]
        if scale < 1:
            lines += ["", "_The targets are stated for the full data set: at this reduced scale they are indicative._"]
        lines.append("")
    if result.get("load"):
        lines += ["### Pages under load", "", *_load_table(result["load"]), ""]
    if result.get("sse"):
        lines += ["### Server-sent events (one process)", "", *_sse_table(result["sse"]), ""]
    if result.get("upload"):
        up = result["upload"]
        lines += ["### Upload memory", "", "| upload | status | seconds | RSS before MB | peak MB | growth MB |",
                  "|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {i + 1} | {u['status']} | {u['seconds']} | {u['rss_before_mb']} | {u['rss_peak_mb']} | "
                  f"{u['growth_mb']} |" for i, u in enumerate(up["uploads"])]
        lines += ["", f"A {up['bytes']:,}-byte file, multipart, to `/incidents/drafts/{{id}}/attachments` with the "
                  "`x-csrftoken` header, one uvicorn process, RSS sampled every 5 ms.", ""]
    if result.get("query_plans"):
        lines += ["### Query plans", "", *_plans_table(result["query_plans"]), ""]
    if result.get("profiles"):
        lines += ["### Profiles (py-spy)", "", *_profiles(result["profiles"])]
    return lines


def write() -> Path:
    results = sorted((json.loads(p.read_text()) for p in RESULTS_DIR.glob("scale-*.json")),
                     key=lambda r: -r["scale"])
    head = ANALYSIS.read_text() if ANALYSIS.exists() else "# Performance\n"
    lines = [head.rstrip(), "", "# Measurements", "",
             "_Everything below is written by `make bench` (bench/report.py) from bench/results/; "
             "the text above is bench/analysis.md._", ""]
    for result in results:
        lines += render(result)
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(lines) + "\n")
    return DOC


if __name__ == "__main__":
    print(write())
