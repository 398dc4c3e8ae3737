"""Servers started by the benchmark as subprocesses on free loopback ports, and their memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from bench.database import BENCH_DIR, ROOT

SECRET_KEY = "bench-secret-key-not-for-production"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def workers(self) -> list[psutil.Process]:
        """The processes that serve requests: uvicorn's children, or the process itself."""
        parent = psutil.Process(self.process.pid)
        children = [c for c in parent.children(recursive=True) if "multiprocessing.resource_tracker" not in
                    " ".join(c.cmdline())]
        return children or [parent]

    def rss(self) -> int:
        return sum(p.memory_info().rss for p in self.workers())

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self.workers():
            times = p.cpu_times()
            total += times.user + times.system
        return total

    def tail(self, size: int = 3000) -> str:
        data = self.log_path.read_bytes() if self.log_path.exists() else b""
        return data[-size:].decode("utf-8", "replace")


def server_environment(database_url: str, url: str) -> dict[str, str]:
    var_dir = BENCH_DIR / "var"
    return {**os.environ, "DATABASE_URL": database_url, "VAR_DIR": str(var_dir), "SECRET_KEY": SECRET_KEY,
            "BASE_URL": url, "PYTHONUNBUFFERED": "1", "ATTACHMENTS_DIR": str(var_dir / "attachments")}


@contextmanager
def running(app: str, database_url: str, *, workers: int = 2, name: str = "server", extra: list[str] = ()):
    """uvicorn serving `app` (a factory) on a free port; stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    log_path = BENCH_DIR / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--timeout-graceful-shutdown", "3", "--backlog", "4096", *extra]
    if workers > 1:
        command += ["--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=server_environment(database_url, url),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    server = Server(url, process, log_path)
    try:
        wait_healthy(server, workers)
        yield server
    finally:
        stop(process)


def wait_healthy(server: Server, workers: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    answered = 0
    with httpx.Client(timeout=2) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                break
            try:
                if http.get(f"{server.url}/healthz").status_code == 200:
                    answered += 1
                    # every worker up: as many processes as asked for (uvicorn spawns them)
                    if workers <= 1 or len(server.workers()) >= workers:
                        if answered > 3:
                            return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    stop(server.process)
    raise RuntimeError(f"{server.url} did not become healthy:\n{server.tail()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
