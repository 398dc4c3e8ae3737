"""`make bench`: generate, explain, load, SSE, upload, profiles; then docs/PERFORMANCE.md.

Settings (environment or options):
  BENCH_SCALE     scale factor of issue 8's volumes (default 0.1; 1 = full scale)
  BENCH_DURATION  seconds of load per page (default 15 at full scale, 5 below)
  BENCH_STREAMS   SSE stream counts (default "1000 5000 10000")
  BENCH_DIR       where the embedded PostgreSQL, logs and raw results live (default var/bench)
  BENCH_DATABASE_URL  a PostgreSQL server to use instead of the embedded one

    python -m bench.run --scale 1 --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database, generate, load, query_plans, report, sse, upload  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    import psutil

    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    wrk = shutil.which("wrk")
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0] if wrk else ""
    from importlib.metadata import version

    import uvicorn

    return {"nproc": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "cpu": model,
            "kernel": platform.release(), "python": platform.python_version(), "uvicorn": uvicorn.__version__,
            "litestar": version("litestar"),
            "wrk": wrk_version.split(" [")[0], "fd_limit": sse.raise_fd_limit()[1],
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "0.1")))
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--streams", type=int, nargs="*",
                        default=[int(x) for x in os.environ.get("BENCH_STREAMS", "1000 5000 10000").split()])
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default=os.environ.get("BENCH_CLIENT", "auto"))
    parser.add_argument("--reuse", action="store_true", help="keep the data generated before at this scale")
    parser.add_argument("--merge", action="store_true", help="keep the results of the steps skipped this time")
    parser.add_argument("--skip", nargs="*", default=[], choices=("plans", "load", "sse", "upload", "profiles"))
    args = parser.parse_args()
    duration = args.duration or float(os.environ.get("BENCH_DURATION", "15" if args.scale >= 1 else "5"))
    started = time.perf_counter()
    results: dict = {"scale": args.scale, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": machine(), "commands": sys.argv}
    print(f"bench: scale {args.scale}, {duration:g} s per page, machine {results['machine']}", flush=True)
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"scale-{args.scale:g}.json"
    merged_run = None
    if args.merge and out.exists():  # keep the steps not run this time, and say which were redone
        previous = json.loads(out.read_text())
        steps = [step for step in ("plans", "load", "sse", "upload", "profiles")
                 if step not in args.skip and (step != "sse" or args.streams)]
        merged_run = {"commands": sys.argv, "started": results["started"], "steps": steps}
        earlier = [{**run, "steps": [step for step in run["steps"] if step not in steps]}
                   for run in previous.get("merged_runs", [])]  # what this run redoes is no longer theirs
        results = {**previous, "merged_runs": [*(run for run in earlier if run["steps"]), merged_run]}

    def save() -> None:
        seconds = round(time.perf_counter() - started, 1)
        if merged_run is None:
            results["seconds"] = seconds
        else:
            merged_run["seconds"] = seconds
        out.write_text(json.dumps(results, indent=2, default=str))

    database.server_url()
    known_path = database.BENCH_DIR / "known.json"
    known = json.loads(known_path.read_text()) if known_path.exists() else None
    if not (args.reuse and known and known.get("scale") == args.scale):
        print("generating...", flush=True)
        known = generate.generate(args.scale)
    results["generation"] = {k: known[k] for k in ("volumes", "rows", "seconds", "company", "incident_number",
                                                   "serial", "reseller_incidents", "users", "articles",
                                                   "status_changes") if k in known}
    print(f"data: {json.dumps(results['generation']['rows'])} in {known.get('seconds')}", flush=True)
    os.environ["DATABASE_URL"] = known["database_url"]
    if "plans" not in args.skip:
        print("query plans...", flush=True)
        results["query_plans"] = asyncio.run(query_plans.explain_all(known))
        query_plans.print_report(results["query_plans"])
        save()
    if "load" not in args.skip:
        results["load"] = load.run(known, duration=duration, client=args.client, log=lambda m: print(m, flush=True))
        save()
    if "sse" not in args.skip and args.streams:
        results["sse"] = sse.run(known, args.streams, log=lambda m: print(m, flush=True))
        save()
    if "upload" not in args.skip:
        print("upload:", flush=True)
        results["upload"] = upload.run(known, log=lambda m: print(m, flush=True))
        save()
    if "profiles" not in args.skip:
        print("profiles (py-spy, one worker, separate pass):", flush=True)
        results["profiles"] = load.profile_pages(
            known, ["Mes contrats, page 1", "Contract detail, full"],
            seconds=min(10, max(5, duration)), client=args.client, log=lambda m: print(m, flush=True))
    save()
    report.write()
    print(f"results: {out}; report: docs/PERFORMANCE.md ({round(time.perf_counter() - started, 1)} s)", flush=True)
    database.stop_embedded()


if __name__ == "__main__":
    main()
