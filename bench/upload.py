"""Upload memory: how much a 20 MB upload adds to the server's memory (issue 8: < 8 MB).

One uvicorn process (one worker, so that its RSS is the whole server); bench_admin posts a
20,000,000-byte file (under the 20 MiB limit) as multipart to the attachments route of the known
draft, with the x-csrftoken header (PITFALLS: without it the CSRF middleware parses the whole
form first). The RSS is sampled every 5 ms during the upload; growth = peak - RSS before.

    python -m bench.upload
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench import database, servers  # noqa: E402
from bench.load import csrf_cookie, open_sessions  # noqa: E402

SIZE = 20_000_000
UPLOADS = 3


async def _clear_draft_files(database_url: str, draft_id: int) -> None:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("DELETE FROM attachment WHERE incident = $1", draft_id)
    finally:
        await connection.close()


def run(known: dict, log=print) -> dict:
    database_url = known["database_url"]
    draft_id = known["draft_id"]
    asyncio.run(_clear_draft_files(database_url, draft_id))
    token = asyncio.run(open_sessions(database_url, [known["admin"]["id"]]))[0]
    line = b"2026-11-27 10:00:00 kernel: ata2.00: failed command: READ FPDMA QUEUED\n"
    payload = (line * (SIZE // len(line) + 1))[:SIZE]
    results = {"bytes": SIZE, "uploads": []}
    with servers.running("app:create_app", database_url, workers=1, name="upload") as server:
        csrf = csrf_cookie(server.url)
        cookies = {"session": token, "csrftoken": csrf}
        headers = {"x-csrftoken": csrf, "HX-Request": "true", "HX-Target": "draft-files"}
        with httpx.Client(timeout=120, cookies=cookies) as http:
            # warm the route up with a small file, so the baseline includes the code paths
            warm = http.post(f"{server.url}/incidents/drafts/{draft_id}/attachments", headers=headers,
                             files={"file": ("warm.log", b"warm up\n", "text/plain")})
            if warm.status_code != 201:
                raise RuntimeError(f"upload answered {warm.status_code}: {warm.text[:300]}")
            for attempt in range(UPLOADS):
                time.sleep(1)
                before = server.rss()
                peak = [before]
                done = threading.Event()

                def sample() -> None:
                    while not done.is_set():
                        try:
                            peak[0] = max(peak[0], server.rss())
                        except Exception:
                            pass
                        time.sleep(0.005)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                started = time.perf_counter()
                response = http.post(f"{server.url}/incidents/drafts/{draft_id}/attachments", headers=headers,
                                     files={"file": (f"journal-{attempt}.log", payload, "text/plain")})
                seconds = time.perf_counter() - started
                time.sleep(0.2)
                done.set()
                sampler.join()
                after = server.rss()
                row = {"status": response.status_code, "seconds": round(seconds, 2),
                       "rss_before_mb": round(before / 2**20, 1), "rss_peak_mb": round(peak[0] / 2**20, 1),
                       "rss_after_mb": round(after / 2**20, 1),
                       "growth_mb": round((peak[0] - before) / 2**20, 1)}
                results["uploads"].append(row)
                log(f"  upload {attempt + 1}: {response.status_code} in {row['seconds']} s, RSS {row['rss_before_mb']} "
                    f"→ peak {row['rss_peak_mb']} MB (+{row['growth_mb']} MB)")
    asyncio.run(_clear_draft_files(database_url, draft_id))
    results["max_growth_mb"] = max(u["growth_mb"] for u in results["uploads"])
    return results


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    known = json.loads((database.BENCH_DIR / "known.json").read_text())
    database.server_url()
    results = run(known)
    (database.BENCH_DIR / "upload.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
