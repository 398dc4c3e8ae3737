"""Faults against real processes (issue 9): PostgreSQL stopped and restarted while the app serves,
an upload cut off midway. The orphan-file sweeper is proven in tests/test_maintenance.py."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.live import PROJECT_ROOT, running_server
from tests.notifications.sse import Event, EventStream
from tests.support import DEFAULT_PASSWORD, text_of

UNAVAILABLE = "Service momentanément indisponible"
RECOVERY_DEADLINE = 5.0  # seconds for pages to answer again once PostgreSQL is back
# Streams catch up when the broker LISTENs again, after its reconnection backoff (0.2 s doubling):
# NOTIFYs sent before that reach no one and the re-sync reads the rows instead.
STREAM_DEADLINE = 10.0
NUMBER = "00010101"


# -- a PostgreSQL of its own, that this module may stop -------------------------------------------
class DedicatedPostgres:
    """An embedded PostgreSQL (pgserver) in a folder of its own, stopped and started with its own
    pg_ctl on the same data folder and socket, so the suite's shared database is never touched."""

    def __init__(self, folder: Path) -> None:
        import pgserver

        self.folder = folder
        self.pgdata = folder / "pg"
        handle = pgserver.get_server(self.pgdata, cleanup_mode=None)
        # This class stops it and the fixture deletes it: pgserver's exit hook has nothing left to
        # do but log, at exit, into pytest's closed capture.
        atexit.unregister(handle._cleanup)
        self.user = handle.system_user  # as root, pgserver runs PostgreSQL as its own user
        self.socket_dir = handle.get_postmaster_info().socket_dir
        self.url = handle.get_uri()
        self.pg_ctl_path = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"

    def _pg_ctl(self, *args: str, check: bool = True) -> int:
        # Not a pipe: the postmaster would inherit it and the call would wait for it to exit.
        with (self.folder / "pg_ctl.out").open("ab") as out:
            command = [str(self.pg_ctl_path), "-D", str(self.pgdata), *args]
            return subprocess.run(command, user=self.user, stdin=subprocess.DEVNULL, stdout=out,
                                  stderr=subprocess.STDOUT, check=check, timeout=30).returncode

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-w", "-m", mode, "stop")

    def start(self) -> None:
        # As pgserver starts it: no TCP, the same socket folder, the same log.
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}",
                     "-l", str(self.pgdata / "log"), "start")

    def is_running(self) -> bool:
        return self._pg_ctl("status", check=False) == 0

    def close(self) -> None:
        if self.is_running():
            self.stop("immediate")


@pytest.fixture
def dedicated_postgres() -> Iterator[DedicatedPostgres]:
    folder = Path(tempfile.mkdtemp(prefix="portal-faults-"))
    folder.chmod(0o755)  # PostgreSQL runs as another user when the tests run as root
    server = None
    try:
        server = DedicatedPostgres(folder)
        yield server
    finally:
        if server is not None:
            server.close()
        shutil.rmtree(folder, ignore_errors=True)


async def customer_with_incident() -> None:
    """A reseller with its agent, a contract, a customer (acme_admin) and one incident, NUMBER."""
    from app.db.tables import Contract, Incident
    from tests.factories import make_contract, make_customer, make_reseller

    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "R1-1", "NAS0001")
    customer = await make_customer("acme", serial="NAS0001")
    contract = await Contract.objects().where(Contract.number == "R1-1").first()
    await Incident.insert(Incident(number=NUMBER, contract=contract.id, company=customer.company_id,
                                   reseller=reseller_id, created_by=customer.admin_id, status="new",
                                   title="Panne", nature="defective", description="x"))


async def prepare_dedicated_database() -> None:
    """Run in a subprocess whose DATABASE_URL is the dedicated instance (this process's engine
    is bound to the shared test database)."""
    from app.db.migrate import migrate

    await migrate()
    await customer_with_incident()


def _prepare(url: str) -> None:
    command = ("import asyncio; from tests.security.test_faults import prepare_dedicated_database; "
               "asyncio.run(prepare_dedicated_database())")
    done = subprocess.run([sys.executable, "-c", command], cwd=PROJECT_ROOT, capture_output=True,
                          env={**os.environ, "DATABASE_URL": url}, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-3000:]


# -- what a browser does -------------------------------------------------------------------------
async def _signed_in(url: str, username: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url, timeout=10)
    await http.get("/login")
    response = await http.post("/login", data={"_csrf_token": http.cookies["csrftoken"],
                                               "username": username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 303, response.text[:300]
    return http


async def _post_message(customer: httpx.AsyncClient, body: str) -> httpx.Response:
    return await customer.post(f"/incidents/{NUMBER}/messages",
                               data={"_csrf_token": customer.cookies["csrftoken"], "body": body})


class ReconnectingStream:
    """An EventSource: reads /notifications/stream and, when the stream drops, opens it again with
    Last-Event-ID (after a short delay instead of the 3 s `retry` a browser waits)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.last_id: str | None = None
        self.opened = 0  # streams answered 200
        self.refused: list[int] = []  # other answers while reconnecting
        self.notifications: list[Event] = []
        self.started = asyncio.Event()  # the first event came: the server subscribed this stream
        self._arrived = asyncio.Condition()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> ReconnectingStream:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.started.wait(), 5)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._task.cancel()  # type: ignore[union-attr]
        try:
            await self._task  # type: ignore[misc]
        except asyncio.CancelledError:
            pass

    async def _run(self) -> None:
        while True:
            headers = {"Accept": "text/event-stream"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = self.last_id
            try:
                async with self.http.stream("GET", "/notifications/stream", headers=headers,
                                            timeout=httpx.Timeout(5, read=60)) as response:
                    if response.status_code != 200:
                        self.refused.append(response.status_code)
                    else:
                        self.opened += 1
                        await self._read(EventStream(response))
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)

    async def _read(self, stream: EventStream) -> None:
        try:
            while True:
                try:
                    event = await stream.next(timeout=3600)
                except ConnectionError:
                    return
                self.started.set()
                if event.id is not None:
                    self.last_id = event.id
                if event.event == "notification":
                    async with self._arrived:
                        self.notifications.append(event)
                        self._arrived.notify_all()
        finally:
            await stream.close()

    async def wait_for(self, count: int, timeout: float) -> list[Event]:
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.notifications) >= count)
        return self.notifications


def _assert_unavailable_page(response: httpx.Response, what: str) -> None:
    page = text_of(response.text)
    assert response.status_code == 503, f"{what}: {response.status_code} {page[:300]}"
    assert UNAVAILABLE in page and "Réessayez dans quelques instants" in page, what
    assert "Traceback" not in response.text and "asyncpg" not in response.text, what
    assert response.headers.get("retry-after") == "5", what


# -- 1. PostgreSQL stopped and restarted ---------------------------------------------------------
async def test_postgresql_restart_503_then_recovery_and_no_notification_lost(dedicated_postgres):
    postgres = dedicated_postgres
    await asyncio.to_thread(_prepare, postgres.url)
    async with running_server(DATABASE_URL=postgres.url) as server:
        agent = await _signed_in(server.url, "agent_r1")
        customer = await _signed_in(server.url, "acme_admin")
        try:
            async with ReconnectingStream(agent) as stream:
                # Written just before the outage: its NOTIFY and the broker's read of the row race
                # with the shutdown.
                assert (await _post_message(customer, "avant la coupure")).status_code == 303
                await asyncio.to_thread(postgres.stop, "fast")
                try:
                    for what, client, url, headers in [
                        ("customer page", customer, f"/incidents/{NUMBER}", {}),
                        ("reseller page", agent, "/reseller/incidents", {}),
                        ("htmx partial", customer, f"/incidents/{NUMBER}/messages",
                         {"HX-Request": "true", "HX-Target": "incident-tab"}),
                    ]:
                        _assert_unavailable_page(await client.get(url, headers=headers), what)
                    _assert_unavailable_page(await _post_message(customer, "pendant la coupure"),
                                             "form post")
                    assert (await customer.get("/healthz")).status_code == 503
                finally:
                    await asyncio.to_thread(postgres.start)
                async with asyncio.timeout(RECOVERY_DEADLINE):  # no restart of the app
                    while (await customer.get(f"/incidents/{NUMBER}")).status_code != 200:
                        await asyncio.sleep(0.1)
                assert (await agent.get("/reseller/incidents")).status_code == 200
                assert (await _post_message(customer, "après la coupure 1")).status_code == 303
                assert (await _post_message(customer, "après la coupure 2")).status_code == 303
                received = await stream.wait_for(3, timeout=STREAM_DEADLINE)
                await asyncio.sleep(0.3)  # anything delivered twice would arrive now
                # The stream lived through the outage: a browser reconnecting meanwhile would have
                # met a 503, after which EventSource gives up for good.
                assert (stream.opened, stream.refused) == (1, [])
        except BaseException:
            print(f"--- server output ---\n{server.output()[-20000:]}")
            raise
        finally:
            await agent.aclose()
            await customer.aclose()
        output = server.output()
    connection = await asyncpg.connect(postgres.url)
    try:
        expected = [row["id"] for row in await connection.fetch(
            "SELECT n.id FROM notification n JOIN app_user u ON u.id = n.recipient "
            "WHERE u.username = 'agent_r1' ORDER BY n.id")]
    finally:
        await connection.close()
    assert len(expected) == 3  # the message refused during the outage wrote nothing
    assert [int(event.id) for event in received] == expected, output[-3000:]
    bodies = [text_of(event.data) for event in received]
    for body, words in zip(bodies, ["avant la coupure", "après la coupure 1", "après la coupure 2"],
                           strict=True):
        assert words in body
    assert " 500 " not in output, output[-3000:]


# -- 2. an upload cut off midway -----------------------------------------------------------------
BOUNDARY = "----portal-fault-boundary"
SPOOL_LIMIT = 1024 * 1024  # multipart parts past 1 MiB are spooled to a temporary file on disk


def _temporary_files_open(pid: int, folder: Path) -> list[str]:
    """Files under `folder` that process `pid` holds open (spooled parts are unlinked at once)."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


async def _until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        await asyncio.sleep(0.05)


async def _raw_upload(
    url: str, path: str, http: httpx.AsyncClient, data: bytes, *, announced: int | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Start a multipart upload on a socket of our own, as a browser does (session cookie, CSRF
    header); `announced` is the file size that Content-Length promises, `data` what is sent."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"journal.log\"\r\nContent-Type: text/plain\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + (len(data) if announced is None else announced) + len(tail)
    host, port = url.removeprefix("http://").split(":")
    cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    headers = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookies}\r\n"
               f"x-csrftoken: {http.cookies['csrftoken']}\r\nHX-Request: true\r\n"
               f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
               f"Content-Length: {length}\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(headers + head + data + (tail if announced is None else b""))
    await writer.drain()
    return reader, writer


@pytest.fixture(scope="module")
async def upload_server(app):
    """A live server whose temporary files (spooled multipart parts) go to a folder we watch."""
    temporary = Path(tempfile.mkdtemp(prefix="portal-faults-tmp-"))
    try:
        async with running_server(TMPDIR=str(temporary)) as server:
            yield server, temporary
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


async def test_an_upload_cut_off_midway_leaves_no_file_and_no_row(upload_server):
    from app.config import settings
    from app.db.tables import Attachment

    server, temporary = upload_server
    await customer_with_incident()
    customer = await _signed_in(server.url, "acme_admin")
    path = f"/incidents/{NUMBER}/attachments"
    try:
        # The same request sent whole is stored: the next one fails for being cut, not malformed.
        reader, writer = await _raw_upload(server.url, path, customer, b"boot failed\n")
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        assert b" 201 " in status_line, status_line
        kept = [row.stored_name for row in await Attachment.objects()]
        assert len(kept) == 1

        # 3 MiB promised, 2 MiB sent, then the socket closes.
        since = server.log_size()
        _, writer = await _raw_upload(server.url, path, customer, b"a" * (2 * SPOOL_LIMIT),
                                      announced=3 * SPOOL_LIMIT)
        # the server is mid-upload, its part spooled to disk
        await _until(lambda: _temporary_files_open(server.process.pid, temporary),
                     "the server spools the part to a temporary file")
        writer.close()
        await writer.wait_closed()
        await _until(lambda: f"client left during POST {path}" in server.output(since),
                     "the server notices the client left (and logs it as no error)")
        await _until(lambda: not _temporary_files_open(server.process.pid, temporary),
                     "the server closes the spooled part")
        assert list(temporary.iterdir()) == []
        assert sorted(p.name for p in settings.attachments_dir.iterdir()) == kept
        assert [row.stored_name for row in await Attachment.objects()] == kept
        assert (await customer.get(f"/incidents/{NUMBER}")).status_code == 200  # still serving
        assert " 500 " not in server.output(since), server.output(since)  # leaving is no error
    finally:
        await customer.aclose()
