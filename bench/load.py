"""Load on loopback: 64 connections, a fixed duration per page, the ceiling and the product in one
invocation, each served by uvicorn with 2 workers on the generated database.

The load generator is wrk (Debian's package; a Lua script carries the cookies, the htmx headers
and the sign-in form, and counts unexpected statuses) when it is on PATH, otherwise a bounded
asyncio HTTP/1.1 keep-alive client of this file (`--client python`). Both measure requests/s,
p50 and p99 of the latency, and errors (connection errors, timeouts and any unexpected status).

    python -m bench.load --duration 15
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import database, servers  # noqa: E402
from bench.database import BENCH_DIR  # noqa: E402

CONNECTIONS = 64
WORKERS = 2


@dataclass
class Page:
    name: str
    path: str
    user: str | None = None  # key of known.json whose session cookie is sent
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    body: str = ""
    expect: int = 200
    customer: bool = True  # counts for the "every customer page" target
    server: str = "product"


@dataclass
class Result:
    page: str
    path: str
    client: str
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    unexpected_status: int
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    response_bytes: int = 0
    load_average: float = 0.0  # of the machine (1 min) at the end of the run: other work skews numbers


# -- sessions -------------------------------------------------------------------------------------------

async def open_sessions(database_url: str, user_ids: list[int]) -> list[str]:
    """One session row per user id (as app/accounts/sessions.py writes them); returns the tokens."""
    import asyncpg

    now = datetime.now(timezone.utc)
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    rows = [(hashlib.sha256(t.encode()).hexdigest(), uid, True, now, now, now + timedelta(days=30), "127.0.0.1",
             "bench") for t, uid in zip(tokens, user_ids)]
    connection = await asyncpg.connect(database_url)
    try:
        await connection.copy_records_to_table(
            "user_session", records=rows,
            columns=["token_hash", "user", "remember", "created_at", "last_seen_at", "expires_at", "ip",
                     "user_agent"])
    finally:
        await connection.close()
    return tokens


def csrf_cookie(url: str) -> str:
    with httpx.Client(timeout=10) as http:
        response = http.get(f"{url}/login")
        response.raise_for_status()
        return response.cookies["csrftoken"]


def pages(known: dict) -> list[Page]:
    """The pages of issue 8, with the known objects of the generated data."""
    contract = known["company"]["contract_number"]
    search = known["company"]["search"]
    login_form = urlencode({"username": known["admin"]["username"], "password": known["password"]})
    htmx = {"HX-Request": "true", "HX-Target": "main"}
    return [
        Page("sign-in POST", "/login", method="POST", body=login_form, expect=303, customer=False),
        Page("Mes contrats, page 1", "/contracts", "admin"),
        Page("Mes contrats, search", f"/contracts?{urlencode({'q': search})}", "admin"),
        Page("Contract detail, full", f"/contracts/{contract}", "admin"),
        Page("Contract detail, htmx partial", f"/contracts/{contract}", "admin", headers=htmx),
        Page("Mes incidents, page 1", "/incidents", "admin"),
        Page("Mes incidents, status=new", "/incidents?status=new", "admin"),
        Page("Incident page", f"/incidents/{known['incident_number']}", "admin"),
        Page("Reseller queue, status=open", "/reseller/incidents?status=open", "agent", customer=False),
        Page("Reseller queue, search by serial",
             f"/reseller/incidents?{urlencode({'status': 'all', 'q': known['serial']})}", "agent",
             customer=False),
    ]


# -- wrk ------------------------------------------------------------------------------------------------

_LUA = r"""
wrk.method = "%(method)s"
%(headers)s
%(body)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0; bytes = 0 end
function response(status, headers, body)
  if status ~= %(expect)d then unexpected = unexpected + 1 end
  if body then bytes = #body end
end
function done(summary, latency, requests)
  local u, b = 0, 0
  for _, t in ipairs(threads) do u = u + t:get("unexpected"); b = math.max(b, t:get("bytes")) end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"errors": %%d, "unexpected": %%d, "bytes": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, u, b))
end
"""


def _lua(page: Page, cookie: str) -> str:
    headers = dict(page.headers)
    if cookie:
        headers["Cookie"] = cookie
    if page.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    header_lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    body = f'wrk.body = "{page.body}"' if page.body else ""
    return _LUA % {"method": page.method, "headers": header_lines, "body": body, "expect": page.expect}


def run_wrk(url: str, page: Page, cookie: str, duration: float, connections: int,
            server: servers.Server | None) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(page, cookie))
    try:
        server_cpu = server.cpu_seconds() if server else 0.0
        started = time.perf_counter()
        process = psutil.Popen(["wrk", "-t", "2", "-c", str(connections), "-d", f"{max(1, round(duration))}s",
                                "-T", "30s" if page.method == "POST" else "10s",
                                "-s", script.name, url + page.path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        client_cpu = 0.0
        while process.poll() is None:
            try:
                times = process.cpu_times()
                client_cpu = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(0.2)
        output = process.stdout.read()
        server_cpu = (server.cpu_seconds() - server_cpu) if server else 0.0
    finally:
        os.unlink(script.name)
    match = re.search(r"RESULT (\{.*\})", output)
    if not match:
        raise RuntimeError(f"wrk gave no result for {page.name}:\n{output}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    return Result(page.name, page.path, "wrk", round(seconds, 2), data["requests"],
                  round(data["requests"] / seconds, 1), round(data["p50_us"] / 1000, 1),
                  round(data["p99_us"] / 1000, 1), round(data["max_us"] / 1000, 1), data["errors"],
                  data["unexpected"], round(server_cpu, 1), round(client_cpu, 1), data["bytes"])


# -- the asyncio client -----------------------------------------------------------------------------------

async def _one_connection(host: str, port: int, request: bytes, expect: int, stop_at: float,
                          latencies: list[float], counters: dict) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            lower = head.lower()
            length = re.search(rb"content-length: *(\d+)", lower)
            if length:
                body = await reader.readexactly(int(length.group(1)))
            elif b"transfer-encoding: chunked" in lower:
                body = b""
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    chunk = await reader.readexactly(size + 2)
                    body += chunk[:-2]
                    if size == 0:
                        break
            else:
                body = await reader.read()
            latencies.append(time.perf_counter() - started)
            counters["bytes"] = len(body)
            if status != expect:
                counters["unexpected"] += 1
            if b"connection: close" in lower:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counters["errors"] += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def _python_load(url: str, page: Page, cookie: str, duration: float, connections: int) -> dict:
    parts = urlsplit(url)
    headers = {"Host": parts.netloc, "User-Agent": "bench", "Accept": "*/*", **page.headers}
    if cookie:
        headers["Cookie"] = cookie
    body = page.body.encode()
    if page.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Content-Length"] = str(len(body))
    request = (f"{page.method} {page.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
               + "\r\n").encode() + body
    latencies: list[float] = []
    counters = {"errors": 0, "unexpected": 0, "bytes": 0}
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(*(_one_connection(parts.hostname, parts.port, request, page.expect, stop_at, latencies,
                                           counters) for _ in range(connections)))
    return {"seconds": time.perf_counter() - started, "latencies": latencies, **counters}


def run_python(url: str, page: Page, cookie: str, duration: float, connections: int,
               server: servers.Server | None) -> Result:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    server_cpu = server.cpu_seconds() if server else 0.0
    me = psutil.Process()
    client_cpu = sum(me.cpu_times()[:2])
    data = runner(_python_load(url, page, cookie, duration, connections))
    client_cpu = sum(me.cpu_times()[:2]) - client_cpu
    server_cpu = (server.cpu_seconds() - server_cpu) if server else 0.0
    latencies = sorted(data["latencies"])
    count = len(latencies)

    def percentile(q: float) -> float:
        return latencies[min(count - 1, int(q * count))] * 1000 if count else 0.0

    return Result(page.name, page.path, "python", round(data["seconds"], 2), count,
                  round(count / data["seconds"], 1), round(percentile(0.50), 1), round(percentile(0.99), 1),
                  round(latencies[-1] * 1000 if count else 0, 1), data["errors"], data["unexpected"],
                  round(server_cpu, 1), round(client_cpu, 1), data["bytes"])


def choose_client(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return requested


def settle(url: str, server: servers.Server | None = None, timeout: float = 120) -> None:
    """Wait until the server has worked off what an earlier run left queued: abandoned requests
    still run to the end, and the sign-in's argon2 verifications do so on threads while the event
    loop answers at once, so a quick /healthz is not enough: the workers' CPU must be idle too."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=timeout) as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                http.get(f"{url}/healthz")
            except httpx.HTTPError:
                pass
            answered_at_once = time.perf_counter() - started < 0.05
            if answered_at_once and (server is None or _idle(server)):
                return
            time.sleep(0.5)


def _idle(server: servers.Server, window: float = 0.5) -> bool:
    """The server's processes used under a tenth of one core over `window` seconds."""
    before = server.cpu_seconds()
    time.sleep(window)
    return server.cpu_seconds() - before < 0.1 * window


def measure(client: str, url: str, page: Page, cookie: str, duration: float, connections: int,
            server: servers.Server | None, warmup: float) -> Result:
    runner = run_wrk if client == "wrk" else run_python
    settle(url, server)
    if warmup > 0 and page.method == "GET":
        runner(url, page, cookie, warmup, connections, server)
        settle(url, server)
    result = runner(url, page, cookie, duration, connections, server)
    result.load_average = round(os.getloadavg()[0], 2)
    settle(url, server)
    return result


def check_page(url: str, page: Page, cookie: str) -> None:
    """One request first: the page answers what the load expects (not a redirect to /login)."""
    headers = {**page.headers, "Cookie": cookie} if cookie else dict(page.headers)
    if page.method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    with httpx.Client(timeout=30) as http:
        response = http.request(page.method, url + page.path, headers=headers, content=page.body or None)
    if response.status_code != page.expect:
        raise RuntimeError(f"{page.name}: {page.path} answered {response.status_code}, expected {page.expect}:\n"
                           f"{response.text[:500]}")


# -- the run --------------------------------------------------------------------------------------------

ROUNDS = 3  # slices of each page's duration, each right after a slice of the ceiling


def _combine(slices: list[Result]) -> Result:
    """One result from the slices of a page: requests/s over their whole time, the median of
    their p50s, the mean of their p99s (each slice holds thousands of requests; a slice where
    nothing completed has none), the worst max."""
    first = slices[0]
    answered = [r for r in slices if r.requests]  # a slice where nothing completed has no p99
    seconds = sum(r.duration_s for r in slices)
    requests = sum(r.requests for r in slices)
    return Result(first.page, first.path, first.client, round(seconds, 2), requests,
                  round(requests / seconds, 1) if seconds else 0.0,
                  sorted(r.p50_ms for r in slices)[len(slices) // 2],
                  round(sum(r.p99_ms for r in answered) / len(answered), 1) if answered else 0.0,
                  max(r.max_ms for r in slices),
                  sum(r.errors for r in slices), sum(r.unexpected_status for r in slices),
                  round(sum(r.server_cpu_s for r in slices), 1), round(sum(r.client_cpu_s for r in slices), 1),
                  first.response_bytes, max(r.load_average for r in slices))


def run(known: dict, *, duration: float, connections: int = CONNECTIONS, client: str = "auto",
        warmup: float = 2.0, only: list[str] | None = None, rounds: int = ROUNDS, log=print) -> dict:
    """Every product page against the ceiling, paired in time.

    This machine's capacity drifts by a third within minutes (other machines share its host), so
    a ceiling measured once before and once after the product made ratios that moved from run
    to run by as much. Both servers run side by side (only one is under load at a time), and each
    page's duration is cut into `rounds` slices, each right after a slice of the ceiling of the
    same length: the page's ratio is to the ceiling of its own slices. The ceiling's two pages are
    also measured whole at the start and at the end, as before.
    """
    client = choose_client(client)
    database_url = known["database_url"]
    results: dict = {"client": client, "connections": connections, "duration_s": duration, "workers": WORKERS,
                     "rounds": rounds, "ceiling": [], "product": []}
    ceiling_pages = [Page("Ceiling: 20-row table, 1 query", "/", server="ceiling"),
                     Page("Ceiling: same table, no query", "/noquery", server="ceiling")]
    with_query = ceiling_pages[0]
    slice_seconds = max(1.0, duration / rounds)

    def report(result: Result, extra: str = "") -> None:
        log(f"  {result.page:<40} {result.rps:>8.1f} req/s  p50 {result.p50_ms:>7.1f} ms  "
            f"p99 {result.p99_ms:>7.1f} ms  errors {result.errors + result.unexpected_status}  "
            f"load {result.load_average}{extra}")

    log(f"load: {client}, {connections} connections, {duration:g} s per page in {rounds} slices paired with "
        f"the ceiling's, {WORKERS} uvicorn workers")
    tokens = {key: asyncio.run(open_sessions(database_url, [known[key]["id"]]))[0] for key in ("admin", "agent")}
    with servers.running("bench.ceiling:create_app", database_url, workers=WORKERS, name="ceiling") as ceiling, \
            servers.running("app:create_app", database_url, workers=WORKERS, name="product") as product:

        def ceiling_round(label: str) -> None:
            for page in ceiling_pages:
                check_page(ceiling.url, page, "")
                result = measure(client, ceiling.url, page, "", duration, connections, ceiling, warmup)
                results["ceiling"].append({**asdict(result), "round": label})
                report(result)

        ceiling_round("before")
        csrf = csrf_cookie(product.url)
        for page in pages(known):
            if only and not any(word.lower() in page.name.lower() for word in only):
                continue
            if page.method == "POST":
                page.body += "&" + urlencode({"_csrf_token": csrf})
                cookie = f"csrftoken={csrf}"
            else:
                cookie = f"session={tokens[page.user]}; csrftoken={csrf}"
            check_page(product.url, page, cookie)
            paired: list[Result] = []
            slices: list[Result] = []
            for number in range(rounds):
                first = warmup if number == 0 else 0
                paired.append(measure(client, ceiling.url, with_query, "", slice_seconds, connections, ceiling, first))
                slices.append(measure(client, product.url, page, cookie, slice_seconds, connections, product, first))
            result, ceiling_now = _combine(slices), _combine(paired)
            row = {**asdict(result), "customer": page.customer, "ceiling_rps": ceiling_now.rps,
                   "ceiling_p99_ms": ceiling_now.p99_ms,
                   "rps_ratio": round(result.rps / ceiling_now.rps, 3) if ceiling_now.rps else 0.0,
                   "p99_ratio": round(result.p99_ms / ceiling_now.p99_ms, 2) if ceiling_now.p99_ms else None}
            results["product"].append(row)
            report(result, f"  (ceiling beside it {ceiling_now.rps:.0f} req/s, p99 {ceiling_now.p99_ms:.1f} ms: "
                           f"{row['rps_ratio']:.0%}, p99 {row['p99_ratio']} x)")
        ceiling_round("after")
    whole = [r for r in results["ceiling"] if r["path"] == "/"]
    results["ceiling_rps"] = round(sum(r["rps"] for r in whole) / len(whole), 1)
    results["ceiling_p99_ms"] = round(sum(r["p99_ms"] for r in whole) / len(whole), 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--only", nargs="*", help="run only the pages whose name contains one of these words")
    args = parser.parse_args()
    known = json.loads((BENCH_DIR / "known.json").read_text())
    database.server_url()  # the embedded PostgreSQL, started when the data lives there
    results = run(known, duration=args.duration, connections=args.connections, client=args.client,
                  warmup=args.warmup, only=args.only)
    out = BENCH_DIR / f"load-{results['client']}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()


# -- profiles -------------------------------------------------------------------------------------------

CATEGORIES = (  # (label, substrings of a frame), matched from the innermost frame outwards
    ("argon2 (password verification)", ("argon2",)),
    ("Jinja2 rendering", ("jinja2", "/templates/", "jinja2_fragments")),
    ("asyncpg (protocol, records)", ("asyncpg",)),
    ("Piccolo (query building, results)", ("piccolo",)),
    ("msgspec / encoding", ("msgspec",)),
    ("app code", ("/app/",)),
    ("Litestar (routing, middleware, responses)", ("litestar",)),
    ("uvicorn / HTTP parsing", ("uvicorn", "httptools", "h11")),
    ("asyncio / uvloop (event loop)", ("asyncio", "uvloop", "selectors")),
)


def _category(stack: list[str]) -> str:
    for frame in reversed(stack):
        for label, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return label
    return "other"


def summarise_profile(path: Path, top: int = 12) -> dict:
    """Collapsed stacks (py-spy --format raw) → share of samples by category and top leaf frames."""
    categories: dict[str, int] = {}
    leaves: dict[str, int] = {}
    app_inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        stack = stack_text.split(";")
        total += count
        categories[_category(stack)] = categories.get(_category(stack), 0) + count
        leaves[stack[-1]] = leaves.get(stack[-1], 0) + count
        # py-spy names frames "function (app/module.py:line)": one entry per function, not per line
        for frame in {re.sub(r":\d+\)$", ")", f) for f in stack if "(app/" in f or "/app/" in f}:
            app_inclusive[frame] = app_inclusive.get(frame, 0) + count

    def share(counts: dict[str, int]) -> list[list]:
        return [[k, round(100 * v / total, 1)] for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "categories": share(categories), "leaves": share(leaves),
            "app_functions_inclusive": share(app_inclusive)}


def profile_pages(known: dict, names: list[str], *, seconds: float = 10, connections: int = CONNECTIONS,
                  client: str = "auto", log=print) -> dict:
    """py-spy on one worker while the page is under load (a separate pass: not in the table)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        log("profiles: py-spy not installed (pip install '.[bench]'), skipped")
        return {}
    client = choose_client(client)
    database_url = known["database_url"]
    tokens = {key: asyncio.run(open_sessions(database_url, [known[key]["id"]]))[0] for key in ("admin", "agent")}
    out: dict = {}
    with servers.running("app:create_app", database_url, workers=WORKERS, name="profile") as server:
        csrf = csrf_cookie(server.url)
        for page in pages(known):
            if not any(word.lower() in page.name.lower() for word in names):
                continue
            if page.method == "POST":
                page.body += "&" + urlencode({"_csrf_token": csrf})
                cookie = f"csrftoken={csrf}"
            else:
                cookie = f"session={tokens[page.user]}; csrftoken={csrf}"
            worker = server.workers()[0]
            raw = BENCH_DIR / f"profile-{re.sub(r'[^a-z0-9]+', '-', page.name.lower()).strip('-')}.txt"
            settle(server.url, server)
            spy_process = subprocess.Popen([spy, "record", "--pid", str(worker.pid), "--duration", str(int(seconds)),
                                            "--rate", "200", "--format", "raw", "--nonblocking", "--output", str(raw)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(1)
            runner = run_wrk if client == "wrk" else run_python
            runner(server.url, page, cookie, seconds, connections, server)
            _, error = spy_process.communicate(timeout=60)
            if not raw.exists():
                log(f"  profile of {page.name}: py-spy failed: {error[-300:]}")
                continue
            out[page.name] = summarise_profile(raw)
            top = ", ".join(f"{k} {v} %" for k, v in out[page.name]["categories"][:5])
            log(f"  profile {page.name}: {top}")
            settle(server.url, server)
    return out
