"""Live notifications across real server processes on one PostgreSQL (SPEC §5 Live)."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest

from app.db.tables import Incident, Notification
from app.notifications.services import notify
from tests.factories import make_contract, make_customer, make_reseller
from tests.live import running_server
from tests.notifications.sse import open_stream
from tests.support import DEFAULT_PASSWORD


@pytest.fixture(scope="module")
async def servers(app):
    """Two app processes, A and B, on the test database."""
    async with running_server() as a, running_server() as b:
        yield a, b


async def _signed_in(url: str, username: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url, timeout=10)
    await http.get("/login")
    response = await http.post("/login", data={"_csrf_token": http.cookies["csrftoken"], "username": username,
                                               "password": DEFAULT_PASSWORD})
    assert response.status_code == 303, response.text[:300]
    return http


async def _incident(prefix: str = "acme", reseller_code: str = "R1", serial: str = "NAS0001") -> int:
    reseller_id = await make_reseller(reseller_code, agent=f"agent_{reseller_code.lower()}")
    await make_contract(reseller_id, f"{reseller_code}-1", serial)
    customer = await make_customer(prefix, serial=serial)
    from app.db.tables import Contract

    contract = await Contract.objects().where(Contract.number == f"{reseller_code}-1").first()
    rows = await Incident.insert(Incident(number=f"{serial[-4:]}0101", contract=contract.id, company=customer.company_id,
                                          reseller=contract.reseller,
                                          created_by=customer.admin_id, status="new", title="Panne",
                                          nature="defective", description="x")).returning(Incident.id)
    return rows[0]["id"]


async def test_an_event_caused_on_process_a_reaches_a_stream_on_process_b(servers):
    a, b = servers
    await _incident()
    agent = await _signed_in(b.url, "agent_r1")
    customer = await _signed_in(a.url, "acme_admin")
    try:
        async with open_stream(agent) as stream:
            first = await stream.next()
            assert first.event == "unread" and "Aucune notification non lue" in first.data
            number = (await Incident.objects().first()).number
            reply = await customer.post(f"/incidents/{number}/messages",
                                        data={"_csrf_token": customer.cookies["csrftoken"], "body": "Toujours en panne"})
            assert reply.status_code == 303
            event = await stream.until("notification", timeout=2)
            assert f"[Nouveau message] Incident n. {number}" in event.data
            assert event.id == str((await Notification.objects().first()).id)
            badge = await stream.until("unread")
            assert "1 notification non lue" in badge.data
    finally:
        await agent.aclose()
        await customer.aclose()


async def test_stream_keeps_delivering_after_its_listen_connection_is_killed(servers):
    _, b = servers
    incident_id = await _incident()
    customer = await make_customer("other")  # noqa: F841  (a second company, irrelevant recipient)
    agent_id = (await _user_id("agent_r1"))
    agent = await _signed_in(b.url, "agent_r1")
    try:
        async with open_stream(agent) as stream:
            await stream.next()
            killed = await Notification.raw(
                "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = {}",
                'LISTEN "portal_events"')
            assert killed, "no listening connection found"
            # committed while the listeners are down or reconnecting: replayed from the database
            first = await notify([agent_id], kind="new_status", title="[Nouveau statut] pendant la coupure",
                                 incident_id=incident_id)
            await asyncio.sleep(1.0)
            second = await notify([agent_id], kind="new_status", title="[Nouveau statut] après la coupure",
                                  incident_id=incident_id)
            received = []
            async with asyncio.timeout(10):
                while len(received) < 2:
                    event = await stream.until("notification", timeout=10)
                    received.append(int(event.id))
            assert received == first + second  # both, in order, once each
    finally:
        await agent.aclose()


async def test_last_event_id_replays_what_the_tab_missed(servers):
    _, b = servers
    incident_id = await _incident()
    agent_id = await _user_id("agent_r1")
    agent = await _signed_in(b.url, "agent_r1")
    try:
        async with open_stream(agent) as stream:
            first = await stream.next()
            last_id = first.id
        missed = []
        for index in range(3):
            missed += await notify([agent_id], kind="new_message", title=f"[Nouveau message] {index}",
                                   incident_id=incident_id)
        async with open_stream(agent, last_event_id=last_id) as stream:
            replayed = [int((await stream.until("notification")).id) for _ in range(3)]
        assert replayed == missed
    finally:
        await agent.aclose()


async def test_a_company_never_receives_another_companys_events(servers):
    a, b = servers
    await _incident("acme", "R1", "NAS0001")
    other_incident = await _incident("rival", "R2", "NAS0002")
    acme = await _signed_in(a.url, "acme_admin")
    rival = await _signed_in(b.url, "rival_admin")
    rival_ids = [await _user_id("rival_admin"), await _user_id("rival_basic")]
    try:
        async with open_stream(acme) as acme_stream, open_stream(rival) as rival_stream:
            await acme_stream.next()
            await rival_stream.next()
            await notify(rival_ids, kind="new_status", title="[Nouveau statut] Incident rival",
                         incident_id=other_incident)
            event = await rival_stream.until("notification")
            assert "Incident rival" in event.data
            await acme_stream.nothing_of("notification", within=1.0)
    finally:
        await acme.aclose()
        await rival.aclose()


async def test_a_rolled_back_write_notifies_no_one(servers):
    _, b = servers
    incident_id = await _incident()
    agent_id = await _user_id("agent_r1")
    agent = await _signed_in(b.url, "agent_r1")
    try:
        async with open_stream(agent) as stream:
            await stream.next()
            with pytest.raises(RuntimeError):
                async with Notification._meta.db.transaction():
                    await notify([agent_id], kind="new_status", title="annulée", incident_id=incident_id)
                    raise RuntimeError("the cause failed")
            await stream.nothing_of("notification", within=1.0)
            await notify([agent_id], kind="new_status", title="validée", incident_id=incident_id)
            assert "validée" in (await stream.until("notification")).data
        assert [n.title for n in await Notification.objects()] == ["validée"]
    finally:
        await agent.aclose()


async def test_stream_ends_when_its_session_is_signed_out(servers):
    _, b = servers
    await _incident()
    agent = await _signed_in(b.url, "agent_r1")
    try:
        async with open_stream(agent) as stream:
            await stream.next()
            await agent.post("/logout", data={"_csrf_token": agent.cookies["csrftoken"]})
            assert (await stream.until("signed-out", timeout=3)).event == "signed-out"
            with pytest.raises(ConnectionError):
                await stream.next(timeout=3)
        anonymous = await agent.get("/notifications/stream")
        assert anonymous.status_code == 204  # tells EventSource to stop reconnecting
    finally:
        await agent.aclose()


async def _user_id(username: str) -> int:
    from app.db.tables import User

    return (await User.objects().where(User.username == username).first()).id


async def test_a_server_stopping_ends_its_streams_so_that_tabs_reconnect_elsewhere(app):
    """A deployment stops the server with SIGTERM: open streams must end promptly (not hold the
    shutdown up to its timeout) and without `signed-out`, which would stop the tab for good
    instead of letting EventSource reconnect to the next server."""
    await _incident()
    async with running_server() as server:
        agent = await _signed_in(server.url, "agent_r1")
        try:
            async with open_stream(agent) as stream:
                assert (await stream.next()).event == "unread"
                started = time.monotonic()
                server.process.send_signal(signal.SIGTERM)
                with pytest.raises(ConnectionError):  # the stream ended: no event, least of all signed-out
                    await stream.next(timeout=5)
                # uvicorn shuts down, then re-raises the signal so that its exit status says why
                assert await asyncio.to_thread(server.process.wait, 10) == -signal.SIGTERM
                assert time.monotonic() - started < 3  # before uvicorn's graceful timeout (3 s) ran out
        finally:
            await agent.aclose()
        output = server.output()
        assert "Application shutdown complete" in output and "Traceback" not in output
