"""Reseller view: the incident queue and handling (SPEC §4; issue 7)."""

from __future__ import annotations

from app.accounts.services import create_user
from app.contracts.services import claim_contract
from app.db.tables import Attachment, Contract, Incident, IncidentStatusChange, Message, Notification
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import DEFAULT_PASSWORD, field_error, post_form, sign_in, text_of


async def _declared(new_client, *, prefix="acme", code="R1", serial="NAS0001", title="Le NAS ne démarre plus"):
    reseller_id = await make_reseller(code, agent=f"agent_{code.lower()}")
    await make_contract(reseller_id, f"{code}-1001", serial)
    customer = await make_customer(prefix, serial=serial)
    http = new_client(f"198.51.100.{len(prefix)}")
    await sign_in(http, f"{prefix}_admin")
    number = await declare(http, f"{code}-1001", title=title)
    return reseller_id, customer, number, http


async def test_queue_lists_incidents_with_company_product_status_and_unread_marker(client, new_client):
    _, _, number, _ = await _declared(new_client)
    await sign_in(client, "agent_r1")
    assert (await client.get("/reseller")).headers["location"] == "/reseller/incidents"
    page = (await client.get("/reseller/incidents")).text
    text = text_of(page)
    for words in (number, "Société acme", "Le NAS ne démarre plus", "TS-131K-1TIW", "NAS0001", "Nouveau"):
        assert words in text, words
    assert 'class="is-unread"' in page and "(non lu)" in text
    await client.get(f"/reseller/incidents/{number}")  # opening it reads its notifications
    assert "(non lu)" not in text_of((await client.get("/reseller/incidents")).text)


async def test_queue_filters_and_search(client, new_client):
    reseller_id, customer, first, customer_http = await _declared(new_client, title="Disque HS")
    second = await declare(customer_http, "R1-1001", title="Alimentation")
    await sign_in(client, "agent_r1")
    await post_form(client, f"/reseller/incidents/{first}/status", {"status": "resolved"})
    open_only = text_of((await client.get("/reseller/incidents")).text)
    assert second in open_only and first not in open_only
    everything = text_of((await client.get("/reseller/incidents", params={"status": "all"})).text)
    assert first in everything and second in everything
    for query, expected, absent in (("Disque", first, second), ("nas 0001", first, None), ("acme", second, None),
                                    (second, second, first)):
        text = text_of((await client.get("/reseller/incidents", params={"q": query, "status": "all"})).text)
        assert expected in text, query
        if absent:
            assert absent not in text, query
    agent_id = (await _user("agent_r1")).id
    await post_form(client, f"/reseller/incidents/{second}/assign", {"assignee": str(agent_id)})
    mine = text_of((await client.get("/reseller/incidents", params={"assignee": "mine", "status": "all"})).text)
    unassigned = text_of((await client.get("/reseller/incidents", params={"assignee": "unassigned", "status": "all"})).text)
    assert second in mine and first not in mine
    assert first in unassigned and second not in unassigned
    partial = await client.get("/reseller/incidents", params={"q": "Disque"},
                               headers={"HX-Request": "true", "HX-Target": "queue-results"})
    assert partial.text.lstrip().startswith('<div id="queue-results"')


async def test_a_whole_serial_or_number_finds_exactly_its_incidents(client, new_client):
    """What a reseller pastes from a label or a mail: exact matches only, not every serial that
    contains it (a substring search would also list NAS00011's incident)."""
    reseller_id, customer, first, customer_http = await _declared(new_client, serial="NAS0001")
    await make_contract(reseller_id, "R1-1002", "NAS00011")
    async with Incident._meta.db.transaction():
        await claim_contract(customer.company_id, customer.admin_id, "NAS00011")
    second = await declare(customer_http, "R1-1002", title="Ventilateur bruyant")
    await sign_in(client, "agent_r1")
    for query, expected, absent in (("nas0001", first, second), ("NAS 00011", second, first),
                                    (first, first, second), ("NAS000", None, None)):
        text = text_of((await client.get("/reseller/incidents", params={"q": query, "status": "all"})).text)
        if expected:
            assert expected in text and absent not in text, query
        else:  # a part of a serial: the substring search, both
            assert first in text and second in text, query


async def test_a_serial_also_on_another_resellers_contract_finds_only_this_resellers_incidents(client, new_client):
    """Disk serials are not unique across contracts: the exact-match search stays in its tenancy."""
    reseller_id, _, _, _ = await _declared(new_client, serial="NAS0001")
    other_reseller = await make_reseller("R2", agent="agent_r2")
    await make_contract(other_reseller, "R2-2001", "NAS0002", disks=("WD-SHARED",))
    await make_contract(reseller_id, "R1-1002", "NAS0003", disks=("WD-SHARED",))
    rival = await make_customer("rival", serial="NAS0002")
    contract = await Contract.objects().where(Contract.number == "R2-2001").first()
    await Incident.insert(Incident(number="99010101", contract=contract.id, company=rival.company_id,
                                   reseller=contract.reseller, created_by=rival.admin_id, status="new",
                                   title="Incident du concurrent", nature="defective", description="x"))
    await sign_in(client, "agent_r1")
    text = text_of((await client.get("/reseller/incidents", params={"q": "wd-shared", "status": "all"})).text)
    assert "99010101" not in text and "Incident du concurrent" not in text
    assert "Aucun incident ne correspond" in text  # R1's contract with that disk has no incident
    assert "99010101" not in text_of((await client.get("/reseller/incidents", params={"q": "99010101"})).text)

async def test_a_long_queue_is_counted_up_to_a_cap_and_still_pages_on(client, new_client):
    reseller_id, customer, number, _ = await _declared(new_client)
    contract_id = (await Incident.select(Incident.contract).where(Incident.number == number).first())["contract"]
    await Incident.raw(
        """INSERT INTO incident (number, contract, company, status, title, submitted_at, last_activity_at)
           SELECT 'X' || n, {}, {}, 'new', 'Incident ' || n, now(), now() - n * interval '1 minute'
           FROM generate_series(1, 1100) AS n""",
        contract_id, customer.company_id,
    )
    await sign_in(client, "agent_r1")
    page = text_of((await client.get("/reseller/incidents")).text)
    assert "1–25 sur plus de 1 000" in page and "Page 1 /" not in page and "Suivant" in page
    page_41 = text_of((await client.get("/reseller/incidents", params={"page": 41})).text)
    assert "1 001–1 025 sur 1 101" in page_41 and "Page 41 / 45" in page_41  # exact again near the end
    page_45 = text_of((await client.get("/reseller/incidents", params={"page": 45})).text)
    assert "1 101–1 101 sur 1 101" in page_45 and "Page 45 / 45" in page_45
    assert "Suivant" not in page_45


async def test_reply_reaches_the_customer_and_takes_the_incident_in_hand(client, new_client):
    _, customer, number, customer_http = await _declared(new_client)
    await sign_in(client, "agent_r1")
    response = await post_form(client, f"/reseller/incidents/{number}/reply", {"body": "Nous envoyons un châssis."})
    assert response.status_code == 303
    incident = await Incident.objects().where(Incident.number == number).first()
    assert incident.status == "in_progress"
    notes = await Notification.objects().where(Notification.kind == "new_message").order_by(Notification.recipient)
    assert [n.recipient for n in notes] == [customer.admin_id, customer.basic_id]
    assert notes[0].title == f"[Nouveau message] Incident n. {number}"
    thread = text_of((await customer_http.get(f"/incidents/{number}/messages")).text)
    assert "Nous envoyons un châssis." in thread and "Revendeur R1" in thread
    empty = await post_form(client, f"/reseller/incidents/{number}/reply", {"body": ""})
    assert empty.status_code == 422 and field_error(empty.text, "body") == "Ce champ est obligatoire."


async def test_internal_note_never_reaches_the_customer(client, new_client):
    _, customer, number, customer_http = await _declared(new_client)
    await sign_in(client, "agent_r1")
    secret = "Client difficile, RMA fournisseur 4242"
    response = await post_form(client, f"/reseller/incidents/{number}/note", {"note": secret})
    assert response.status_code == 303
    assert secret in text_of((await client.get(f"/reseller/incidents/{number}/messages")).text)
    assert (await Message.objects().first()).visibility == "internal"
    # not one notification for the customer, and nowhere in any customer page or partial
    assert await Notification.count().where(Notification.recipient.is_in([customer.admin_id, customer.basic_id])) == 0
    for url in (f"/incidents/{number}", f"/incidents/{number}/messages", f"/incidents/{number}/address",
                f"/incidents/{number}/contract", f"/incidents/{number}/reseller", "/incidents", "/notifications",
                "/notifications/panel", "/contracts"):
        for headers in ({}, {"HX-Request": "true", "HX-Target": "incident-tab"}):
            assert secret not in (await customer_http.get(url, headers=headers)).text, url
    empty = await post_form(client, f"/reseller/incidents/{number}/note", {"note": " "})
    assert field_error(empty.text, "note") == "Ce champ est obligatoire."


async def test_status_moves_follow_the_workflow_and_notify_the_customer(client, new_client):
    _, customer, number, customer_http = await _declared(new_client)
    await sign_in(client, "agent_r1")
    page = (await client.get(f"/reseller/incidents/{number}")).text
    assert '<option value="closed">' not in page  # not offered from Nouveau
    refused = await post_form(client, f"/reseller/incidents/{number}/status", {"status": "closed"})
    assert refused.status_code == 422 and "statuts possibles" in field_error(refused.text, "status")
    assert await post_form(client, f"/reseller/incidents/{number}/status", {"status": "in_progress"})
    assert (await post_form(client, f"/reseller/incidents/{number}/status", {"status": "resolved"})).status_code == 303
    incident = await Incident.objects().where(Incident.number == number).first()
    assert incident.status == "resolved" and incident.resolved_at is not None
    history = await IncidentStatusChange.objects().where(IncidentStatusChange.incident == incident.id).order_by(
        IncidentStatusChange.id)
    assert [h.to_status for h in history] == ["new", "in_progress", "resolved"]
    note = await Notification.objects().where(
        (Notification.kind == "new_status") & (Notification.recipient == customer.admin_id)).order_by(
        Notification.id, ascending=False).first()
    assert (note.title, note.body) == (f"[Nouveau statut] Incident n. {number}", "Cet incident a été résolu.")
    assert "✓ Cet incident a été résolu." in text_of((await customer_http.get(f"/incidents/{number}")).text)
    await post_form(client, f"/reseller/incidents/{number}/status", {"status": "closed"})
    closed = (await client.get(f"/reseller/incidents/{number}/messages")).text
    assert "Votre réponse" not in closed and "Cet incident est clos" in text_of(closed)
    assert (await post_form(client, f"/reseller/incidents/{number}/reply", {"body": "x"})).status_code == 403
    assert (await post_form(client, f"/reseller/incidents/{number}/status", {"status": "in_progress"})).status_code == 422


async def test_assignment_only_to_an_active_member_of_the_team(client, new_client):
    reseller_id, _, number, _ = await _declared(new_client)
    other_reseller = await make_reseller("R2", agent="agent_r2")  # noqa: F841
    await sign_in(client, "agent_r1")
    stranger = await _user("agent_r2")
    refused = await post_form(client, f"/reseller/incidents/{number}/assign", {"assignee": str(stranger.id)})
    assert refused.status_code == 422 and "membre actif" in field_error(refused.text, "assignee")
    colleague = await create_user(username="agent_bis", first_name="Bis", last_name="Agent", email="bis@r1.example",
                                  role="agent", reseller_id=reseller_id, password=DEFAULT_PASSWORD)
    assert (await post_form(client, f"/reseller/incidents/{number}/assign", {"assignee": str(colleague)})).status_code == 303
    assert (await Incident.objects().where(Incident.number == number).first()).assignee == colleague
    queue = text_of((await client.get("/reseller/incidents")).text)
    assert "Bis Agent" in queue
    await post_form(client, f"/reseller/incidents/{number}/assign", {"assignee": ""})
    assert (await Incident.objects().where(Incident.number == number).first()).assignee is None


async def test_reply_with_a_file_and_the_customer_downloads_it(client, new_client):
    _, _, number, customer_http = await _declared(new_client)
    await sign_in(client, "agent_r1")
    upload = await client.post(f"/reseller/incidents/{number}/attachments",
                               files={"file": ("procedure.pdf", b"%PDF-1.7 procedure", "application/pdf")},
                               headers={"x-csrftoken": client.cookies["csrftoken"], "HX-Request": "true"})
    assert upload.status_code == 201
    row = await Attachment.objects().first()
    # not sent yet: the customer does not see it
    assert "procedure.pdf" not in (await customer_http.get(f"/incidents/{number}")).text
    await post_form(client, f"/reseller/incidents/{number}/reply", [("body", "Voici la procédure"),
                                                                   ("attachments", str(row.id))])
    assert "procedure.pdf" in (await customer_http.get(f"/incidents/{number}/messages")).text
    download = await customer_http.get(f"/incidents/{number}/attachments/{row.id}")
    assert download.status_code == 200 and download.content == b"%PDF-1.7 procedure"
    assert (await client.get(f"/reseller/incidents/{number}/attachments/{row.id}")).status_code == 200


async def test_another_reseller_and_customers_get_404(client, new_client):
    _, _, number, customer_http = await _declared(new_client)
    await make_reseller("R2", agent="agent_r2")
    await sign_in(client, "agent_r2")
    for url in (f"/reseller/incidents/{number}", f"/reseller/incidents/{number}/messages"):
        assert (await client.get(url)).status_code == 404
    for path, data in (("reply", {"body": "x"}), ("note", {"note": "x"}), ("status", {"status": "resolved"}),
                       ("assign", {"assignee": ""})):
        assert (await post_form(client, f"/reseller/incidents/{number}/{path}", data)).status_code == 404
    assert number not in text_of((await client.get("/reseller/incidents", params={"status": "all"})).text)
    assert (await customer_http.get("/reseller/incidents")).status_code == 404
    assert (await customer_http.get(f"/reseller/incidents/{number}")).status_code == 404
    assert await Message.count() == 0


async def _user(username: str):
    from app.db.tables import User

    return await User.objects().where(User.username == username).first()
