"""`make run`: embedded PostgreSQL when DATABASE_URL is unset, migrations, demo data, then the server.

Ctrl-C or SIGTERM stops the server first, then the embedded PostgreSQL (its data is kept in
var/postgres for the next run).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def prepare_database(*, load_demo: bool) -> None:
    """Migrate, then load the demo data when the database holds no company and no reseller."""
    from app.db.migrate import migrate
    from app.db.tables import Company, Reseller
    from app.demo import load_demo as load

    await migrate()
    if load_demo and not await Company.exists() and not await Reseller.exists():
        await load()
        print("Demo data loaded (see README.md for the accounts).", flush=True)


def main() -> int:
    embedded = None
    if not os.environ.get("DATABASE_URL"):
        from app.db.embedded import start_embedded_postgres

        embedded = start_embedded_postgres(ROOT / "var" / "postgres")
        os.environ["DATABASE_URL"] = embedded.get_uri()
        print(f"Embedded PostgreSQL: {os.environ['DATABASE_URL']}", flush=True)
    asyncio.run(prepare_database(load_demo=os.environ.get("LOAD_DEMO", "1") != "0"))

    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    command = [
        sys.executable, "-m", "uvicorn", "app:create_app", "--factory",
        "--host", host, "--port", port,
        "--workers", os.environ.get("WEB_CONCURRENCY", "1"),
        "--proxy-headers", "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "--timeout-graceful-shutdown", "5",
    ]
    print(f"Serving on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    # The server runs in a session of its own: Ctrl-C and SIGTERM reach only this process, which
    # passes each on exactly once (a second signal would make uvicorn skip its graceful stop).
    server = subprocess.Popen(command, cwd=ROOT, start_new_session=True)

    last_signal = [0.0]

    def forward(signum: int, _frame: object) -> None:
        # One Ctrl-C may reach us twice (from the terminal and from make): pass on one per second.
        now = time.monotonic()
        if server.poll() is None and now - last_signal[0] > 1.0:
            last_signal[0] = now
            server.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    code = server.wait()
    if embedded is not None:
        print("Stopping the embedded PostgreSQL...", flush=True)
        embedded.cleanup()
    return 0 if code in (0, -signal.SIGINT, -signal.SIGTERM) else code


if __name__ == "__main__":
    sys.exit(main())
