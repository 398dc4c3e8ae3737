"""The app served by uvicorn in a process of its own, on the test database: for what only a
real server shows (browsers, server-sent events, several processes on one PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT = 20.0


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def output(self, since: int = 0) -> str:
        """What the server printed (from byte `since`): its log lines and tracebacks."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return log.read().decode("utf-8", "replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


async def wait_until_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    last = "no answer yet"
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                last = f"the server exited with code {server.process.returncode}"
                break
            try:
                response = await http.get(f"{server.url}/healthz")
            except httpx.HTTPError as error:
                last = repr(error)
            else:
                if response.status_code == 200:
                    return
                last = f"/healthz answered {response.status_code}: {response.text[:200]}"
            await asyncio.sleep(0.1)
    _stop(server.process)
    pytest.fail(
        f"the live server did not become healthy within {SERVER_START_TIMEOUT:.0f} s ({last}).\n"
        f"--- server output ---\n{server.output()}",
        pytrace=False,
    )


@asynccontextmanager
async def running_server(**environment: str) -> AsyncIterator[LiveServer]:
    """Start the app on a free port with the test process's environment (DATABASE_URL, VAR_DIR,
    SECRET_KEY set by tests/conftest.py), plus `environment`; stop it on exit."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    scratch = Path(tempfile.mkdtemp(prefix="portal-live-server-"))
    log_path = scratch / "server.log"
    # Only the public address differs, so that links in e-mails point at this server.
    env = {**os.environ, "BASE_URL": url, "PYTHONUNBUFFERED": "1", **environment}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--timeout-graceful-shutdown", "3"],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )
    server = LiveServer(url, process, log_path)
    try:
        await wait_until_healthy(server)
        yield server
    finally:
        _stop(process)
        shutil.rmtree(scratch, ignore_errors=True)
