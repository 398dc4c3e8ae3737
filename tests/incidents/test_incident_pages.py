"""Mes incidents and the incident page (SPEC §3.8–3.9): tabs, Messagerie, files."""

from __future__ import annotations

from app.db.tables import Attachment, Incident, IncidentStatusChange, Message, Notification
from app.incidents.services import change_status
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import field_error, post_form, sign_in, text_of


async def _declared(client, *, title="Le NAS ne démarre plus"):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    customer = await make_customer("acme", serial="NAS0001")
    await sign_in(client, "acme_admin")
    number = await declare(client, "1001", title=title)
    return customer, number


async def test_mes_incidents_lists_newest_first_and_filters_by_state(client):
    customer, first = await _declared(client, title="Premier")
    second = await declare(client, "1001", title="Second")
    incident = await Incident.objects().where(Incident.number == first).first()
    await change_status(incident.id, "new", "resolved", customer.admin_id)
    page = (await client.get("/incidents")).text
    text = text_of(page)
    for header in ("#", "Intitulé", "Référence produit", "Etat"):
        assert header in text
    assert text.index(second) < text.index(first)
    resolved = text_of((await client.get("/incidents", params={"status": "resolved"})).text)
    assert first in resolved and second not in resolved and "Résolu" in resolved
    partial = await client.get("/incidents", params={"status": "new"},
                               headers={"HX-Request": "true", "HX-Target": "incident-results"})
    assert partial.text.lstrip().startswith('<div id="incident-results"') and first not in partial.text
    nothing = text_of((await client.get("/incidents", params={"status": "closed"})).text)
    assert "Aucun incident dans l'état « Clos »" in nothing


async def test_incident_tabs_each_have_their_own_url_and_fragment(client):
    _, number = await _declared(client)
    expectations = {
        "": ("Intitulé", "Le NAS ne démarre plus", "Produit défectueux", "NAS0001", "LED rouge clignotante."),
        "/address": ("Adresse principale", "1 rue Test", "69001 Lyon"),
        "/contract": ("N° de contrat", "1001", "TS-131K-1TIW", "Fin de garantie"),
        "/reseller": ("Revendeur R1", "r1@example.com"),
        "/messages": ("Aucun message pour l'instant.", "Écrire à mon revendeur"),
    }
    for suffix, words in expectations.items():
        page = await client.get(f"/incidents/{number}{suffix}")
        assert page.status_code == 200, suffix
        text = text_of(page.text)
        assert f"Mes Incidents > Incident n° {number}" in text
        for word in words:
            assert word in text, (suffix, word)
        fragment = await client.get(f"/incidents/{number}{suffix}",
                                    headers={"HX-Request": "true", "HX-Target": "incident-tab"})
        assert fragment.text.lstrip().startswith('<div id="incident-tab"'), suffix
    assert (await client.get(f"/incidents/{number}/nope")).status_code == 404


async def test_status_banner_follows_the_state(client):
    customer, number = await _declared(client)
    incident = await Incident.objects().where(Incident.number == number).first()
    assert "Votre déclaration a été transmise à votre revendeur." in text_of((await client.get(f"/incidents/{number}")).text)
    await change_status(incident.id, "new", "resolved", customer.admin_id)
    assert "✓ Cet incident a été résolu." in text_of((await client.get(f"/incidents/{number}")).text)


async def test_reply_adds_to_the_thread_and_notifies_the_reseller(client):
    _, number = await _declared(client)
    response = await post_form(client, f"/incidents/{number}/messages", {"body": "Une précision : bruit suspect."})
    assert response.status_code == 303
    page = text_of((await client.get(f"/incidents/{number}/messages")).text)
    assert "Une précision : bruit suspect." in page and "Admin acme" in page
    note = await Notification.objects().where(Notification.kind == "new_message").first()
    assert note.title == f"[Nouveau message] Incident n. {number}"
    empty = await post_form(client, f"/incidents/{number}/messages", {"body": "   "})
    assert empty.status_code == 422
    assert field_error(empty.text, "body") == "Ce champ est obligatoire."
    assert await Message.count() == 1


async def test_reply_on_a_resolved_incident_reopens_it(client):
    customer, number = await _declared(client)
    incident = await Incident.objects().where(Incident.number == number).first()
    await change_status(incident.id, "new", "resolved", customer.admin_id)
    await post_form(client, f"/incidents/{number}/messages", {"body": "Le problème est revenu."})
    assert (await Incident.objects().where(Incident.id == incident.id).first()).status == "in_progress"
    history = await IncidentStatusChange.objects().where(IncidentStatusChange.incident == incident.id).order_by(
        IncidentStatusChange.id)
    assert [(h.from_status, h.to_status) for h in history] == [(None, "new"), ("new", "resolved"),
                                                              ("resolved", "in_progress")]
    assert history[-1].changed_by == customer.admin_id


async def test_closed_incident_accepts_no_message_nor_file_and_shows_no_reply_box(client):
    customer, number = await _declared(client)
    incident = await Incident.objects().where(Incident.number == number).first()
    await change_status(incident.id, "new", "resolved", customer.admin_id)
    await change_status(incident.id, "resolved", "closed", customer.admin_id)
    page = (await client.get(f"/incidents/{number}/messages")).text
    assert "Écrire à mon revendeur" not in page and "il n'accepte plus de message" in text_of(page)
    assert (await post_form(client, f"/incidents/{number}/messages", {"body": "Encore ?"})).status_code == 403
    assert await Message.count() == 0


async def test_basic_user_reads_everything_but_cannot_write(client, new_client):
    _, number = await _declared(client)
    basic = new_client()
    await sign_in(basic, "acme_basic")
    page = (await basic.get(f"/incidents/{number}/messages")).text
    assert "Écrire à mon revendeur" not in page
    assert (await basic.get(f"/incidents/{number}")).status_code == 200
    assert (await post_form(basic, f"/incidents/{number}/messages", {"body": "Bonjour"})).status_code == 403
    files = {"file": ("log.txt", b"hello", "text/plain")}
    upload = await basic.post(f"/incidents/{number}/attachments", files=files,
                              headers={"x-csrftoken": await _token(basic)})
    assert upload.status_code == 403
    assert await Message.count() == 0 and await Attachment.count() == 0


async def test_another_company_gets_404_on_every_incident_url(client, new_client):
    _, number = await _declared(client)
    await client.post(f"/incidents/{number}/attachments", files={"file": ("log.txt", b"line\n", "text/plain")},
                      headers={"x-csrftoken": client.cookies["csrftoken"], "HX-Request": "true"})
    attachment = await Attachment.objects().first()
    await make_customer("rival")
    rival = new_client()
    await sign_in(rival, "rival_admin")
    for url in (f"/incidents/{number}", f"/incidents/{number}/messages", f"/incidents/{number}/address",
                f"/incidents/{number}/attachments/{attachment.id}"):
        assert (await rival.get(url)).status_code == 404, url
    for url, data in ((f"/incidents/{number}/messages", {"body": "x"}),
                      (f"/incidents/{number}/attachments/{attachment.id}/delete", {})):
        assert (await post_form(rival, url, data)).status_code == 404, url
    assert "Aucun incident" in text_of((await rival.get("/incidents")).text)
    assert await Message.count() == 0
    assert (await Attachment.objects().first()).deleted_at is None


async def _token(http) -> str:
    if "csrftoken" not in http.cookies:
        await http.get("/login")
    return http.cookies["csrftoken"]
