"""Server-sent events (issue 6's benchmark): N signed-in streams on ONE app process.

For each N: a fresh uvicorn process (one worker); a client process (forked) opens N streams of
/notifications/stream with session rows written directly for the bench users (several tabs per
user when there are fewer users than streams); the server's RSS is read before and after (memory
per stream); then events are published from this process, each in a transaction through the
app's own `notify()` (rows + pg_notify, delivered on commit):
  - targeted: one company's users (the real case) among all the idle streams, repeated;
  - broadcast: every user that has a stream (the worst case).
Latency = the monotonic time the client read the event's `id:` line minus the time just before
COMMIT (CLOCK_MONOTONIC is shared by the processes of the machine).

    python -m bench.sse --streams 1000 5000 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database, servers  # noqa: E402
from bench.load import open_sessions  # noqa: E402

OPEN_CONCURRENCY = 200
TARGETED_EVENTS = 20
BROADCASTS = 3
DELIVERY_TIMEOUT = 60.0


def raise_fd_limit() -> tuple[int, int]:
    """Soft limit up to the hard one (ulimit -Hn): each stream is one descriptor per side."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# -- the client process ---------------------------------------------------------------------------------

async def _stream(host: str, port: int, token: str, index: int, received: dict, opened: asyncio.Event,
                  counters: dict, stop: asyncio.Event) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
    except OSError:
        counters["failed"] += 1
        opened.set()
        return
    writer.write((f"GET /notifications/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
                  f"Cookie: session={token}\r\n\r\n").encode())
    first = True
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return
        # the body may be chunked: chunk-size lines are skipped like any unknown line
        event, event_id = "", None
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                break
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
            elif line.startswith(b"id:"):
                event_id = line[3:].strip()
            elif line in (b"\r\n", b"\n"):
                if event == "notification" and event_id:
                    received.setdefault(int(event_id), []).append(time.monotonic())
                elif event == "unread" and first:
                    first = False
                    counters["open"] += 1
                    opened.set()
                event, event_id = "", None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        if first:
            counters["failed"] += 1
            opened.set()
        writer.close()


async def _client(url: str, tokens: list[str], pipe) -> None:
    parts = urlsplit(url)
    received: dict[int, list[float]] = {}
    counters = {"open": 0, "failed": 0}
    stop = asyncio.Event()
    tasks = []
    semaphore = asyncio.Semaphore(OPEN_CONCURRENCY)
    started = time.monotonic()

    async def open_one(index: int, token: str) -> None:
        async with semaphore:
            opened = asyncio.Event()
            tasks.append(asyncio.create_task(_stream(parts.hostname, parts.port, token, index, received, opened,
                                                     counters, stop)))
            await opened.wait()

    await asyncio.gather(*(open_one(i, t) for i, t in enumerate(tokens)))
    pipe.send({"open": counters["open"], "failed": counters["failed"],
               "open_seconds": round(time.monotonic() - started, 1)})
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, pipe.recv)
        if command == "report":
            pipe.send(dict(received))
            received.clear()  # the streams keep writing into this same dict
        elif command == "stop":
            break
        # any other word: just a round trip, so the parent knows the client is alive
        else:
            pipe.send("ok")
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _client_process(url: str, tokens: list[str], pipe) -> None:
    raise_fd_limit()
    import traceback
    try:
        import uvloop

        uvloop.run(_client(url, tokens, pipe))
    except BaseException:
        traceback.print_exc()
        raise


# -- publishing -----------------------------------------------------------------------------------------

async def _publish(recipients: list[int], incident_id: int, title: str) -> tuple[list[int], float]:
    from app.db.tables import Notification
    from app.notifications.services import notify

    ids: list[int] = []
    async with Notification._meta.db.transaction():
        # notify() binds every column of every row: past ~3,600 recipients one INSERT exceeds
        # PostgreSQL's 32,767 bind parameters, so a broadcast goes in slices of one transaction
        for start in range(0, len(recipients), 1000):
            ids += await notify(recipients[start:start + 1000], kind="new_status", title=title,
                                body="Cet incident a été résolu.", incident_id=incident_id)
        before_commit = time.monotonic()
    return ids, before_commit


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latencies(published: dict[int, float], received: dict[int, list[float]]) -> tuple[list[float], int]:
    latencies, missing = [], 0
    for notification_id, sent in published.items():
        times = received.get(notification_id)
        if not times:
            missing += 1
            continue
        latencies.extend((t - sent) * 1000 for t in times)
    return latencies, missing


async def _wait_delivered(pipe, published: dict[int, float], expected: int, loop) -> dict[int, list[float]]:
    """Ask the client for what it has until every expected delivery is in (or the timeout)."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    collected: dict[int, list[float]] = {}
    while True:
        await asyncio.sleep(0.5)
        pipe.send("report")
        chunk = await loop.run_in_executor(None, pipe.recv)
        for key, times in chunk.items():
            collected.setdefault(key, []).extend(times)
        got = sum(len(collected.get(i, ())) for i in published)
        if got >= expected or time.monotonic() > deadline:
            return collected


async def _measure(pipe, stream_users: list[int], target_users: list[int], incident_id: int) -> dict:
    loop = asyncio.get_running_loop()
    per_user: dict[int, int] = {}
    for uid in stream_users:
        per_user[uid] = per_user.get(uid, 0) + 1
    out: dict = {}
    # targeted: one company's users, one event at a time
    published: dict[int, float] = {}
    received: dict[int, list[float]] = {}
    for k in range(TARGETED_EVENTS):
        ids, sent = await _publish(target_users, incident_id, f"[Nouveau statut] bench targeted {k}")
        batch = {i: sent for i in ids}
        published.update(batch)
        received.update(await _wait_delivered(pipe, batch, sum(per_user.get(u, 0) for u in target_users), loop))
        await asyncio.sleep(0.2)
    latencies, missing = _latencies(published, received)
    out["targeted"] = {"events": TARGETED_EVENTS, "recipients_per_event": len(target_users),
                       "deliveries": len(latencies), "missing": missing,
                       "p50_ms": round(_percentile(latencies, 0.5), 1), "p99_ms": round(_percentile(latencies, 0.99), 1),
                       "max_ms": round(max(latencies), 1) if latencies else None}
    # broadcast: every user with a stream
    everyone = sorted(per_user)
    all_latencies, all_missing, spans = [], 0, []
    for k in range(BROADCASTS):
        await asyncio.sleep(2)
        started = time.monotonic()
        ids, sent = await _publish(everyone, incident_id, f"[Nouveau statut] bench broadcast {k}")
        write_ms = (sent - started) * 1000
        batch = {i: sent for i in ids}
        got = await _wait_delivered(pipe, batch, len(stream_users), loop)
        latencies, missing = _latencies(batch, got)
        all_latencies += latencies
        all_missing += missing
        spans.append({"write_ms": round(write_ms, 1), "last_ms": round(max(latencies), 1) if latencies else None})
    out["broadcast"] = {"events": BROADCASTS, "streams": len(stream_users), "deliveries": len(all_latencies),
                        "missing_notifications": all_missing,
                        "p50_ms": round(_percentile(all_latencies, 0.5), 1),
                        "p99_ms": round(_percentile(all_latencies, 0.99), 1), "rounds": spans}
    return out


# -- the run --------------------------------------------------------------------------------------------

async def _users(database_url: str, count: int) -> tuple[list[int], list[int], int]:
    """Stream owners (customers, whole companies first), the target company's users, an incident id."""
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id, company FROM app_user WHERE company IS NOT NULL AND company > 1 AND is_active "
            "ORDER BY company, id LIMIT $1", count)
        users = [r["id"] for r in rows]
        target_company = rows[0]["company"]
        target = [r["id"] for r in rows if r["company"] == target_company]
        incident = await connection.fetchval(
            "SELECT id FROM incident WHERE company = $1 AND status <> 'draft' LIMIT 1", target_company)
        if incident is None:
            incident = await connection.fetchval("SELECT id FROM incident WHERE status <> 'draft' LIMIT 1")
    finally:
        await connection.close()
    # more streams than users: the same users again, as other tabs (a session each)
    owners = [users[i % len(users)] for i in range(count)]
    return owners, target, incident


def run(known: dict, stream_counts: list[int], log=print, app: str = "app:create_app") -> dict:
    database_url = known["database_url"]
    os.environ["DATABASE_URL"] = database_url  # before any app module reads the settings
    limits = raise_fd_limit()
    results: dict = {"fd_limit": list(limits), "app": app, "runs": []}
    log(f"sse: streams {stream_counts}, file-descriptor limit {limits[0]} (hard {limits[1]})")
    context = multiprocessing.get_context("fork")
    for count in stream_counts:
        if count + 100 > limits[0]:
            log(f"  {count} streams: skipped, the descriptor limit is {limits[0]} (raise ulimit -Hn)")
            results["runs"].append({"streams": count, "skipped": f"fd limit {limits[0]}"})
            continue
        owners, target, incident_id = asyncio.run(_users(database_url, count))
        tokens = asyncio.run(open_sessions(database_url, owners))
        with servers.running(app, database_url, workers=1, name=f"sse-{count}") as server:
            # warm the process up (imports, templates, pool) before the baseline
            import httpx

            with httpx.Client(timeout=10) as http:
                for _ in range(20):
                    http.get(f"{server.url}/login")
            time.sleep(1)
            rss_before = server.rss()
            parent, child = context.Pipe()
            client = context.Process(target=_client_process, args=(server.url, tokens, child), daemon=True)
            client.start()
            child.close()  # so that a crashed client shows as EOFError here, not as a hang
            opened = parent.recv()
            time.sleep(2)
            rss_after = server.rss()
            run = {"streams": count, "users": len(set(owners)), **opened, "rss_before_mb": round(rss_before / 2**20, 1),
                   "rss_after_mb": round(rss_after / 2**20, 1),
                   "kb_per_stream": round((rss_after - rss_before) / 1024 / max(1, opened["open"]), 1)}
            cpu_before = server.cpu_seconds()

            async def measure() -> dict:
                from piccolo.engine import engine_finder

                engine = engine_finder()
                await engine.start_connection_pool(min_size=1, max_size=2)
                try:
                    return await _measure(parent, owners, target, incident_id)
                finally:
                    await engine.close_connection_pool()

            run.update(asyncio.run(measure()))
            run["server_cpu_s_during_events"] = round(server.cpu_seconds() - cpu_before, 1)
            run["rss_end_mb"] = round(server.rss() / 2**20, 1)
            parent.send("stop")
            client.join(timeout=30)
            if client.is_alive():
                client.kill()
        results["runs"].append(run)
        log(f"  {count:>6} streams: opened {run['open']} in {run['open_seconds']} s, "
            f"{run['kb_per_stream']} KB/stream; targeted p50 {run['targeted']['p50_ms']} ms "
            f"p99 {run['targeted']['p99_ms']} ms; broadcast p50 {run['broadcast']['p50_ms']} ms "
            f"p99 {run['broadcast']['p99_ms']} ms (missing {run['broadcast']['missing_notifications']})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--app", default="app:create_app",
                        help="the factory served, e.g. bench.patched_app:create_app (a proposed change)")
    parser.add_argument("--output", default="sse.json")
    args = parser.parse_args()
    known = json.loads((database.BENCH_DIR / "known.json").read_text())
    database.server_url()
    results = run(known, args.streams, app=args.app)
    (database.BENCH_DIR / args.output).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
