"""Déclarer un incident (SPEC §3.7): the wizard, its drafts, its refusals, the submission."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

from app.db.tables import (
    DeliveryAddress,
    Incident,
    IncidentArticle,
    IncidentDayCounter,
    IncidentStatusChange,
    Notification,
)
from app.incidents.numbering import allocate_number, format_number
from app.web.formatting import today_paris
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import article_ids, declare, start
from tests.support import field_error, post_form, sign_in, text_of


async def _setup(ends_on=None):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",), ends_on=ends_on)
    customer = await make_customer("acme", serial="NAS0001")
    return reseller_id, customer


async def test_contract_check_step_shows_the_contract(client):
    await _setup()
    await sign_in(client, "acme_admin")
    page = text_of((await client.get("/contracts/1001/incidents/new")).text)
    assert "Merci de bien vouloir vérifier que votre demande porte sur ce contrat." in page
    for words in ("N° de contrat 1001", "Référence produit TS-131K-1TIW", "N° de série NAS0001", "Fin de garantie"):
        assert words in page
    assert await Incident.count() == 0  # looking creates nothing


async def test_whole_wizard_declares_incident_with_todays_number(client):
    reseller_id, customer = await _setup()
    await sign_in(client, "acme_admin")
    number = await declare(client, "1001")
    assert number == format_number(today_paris(), 1)
    incident = await Incident.objects().where(Incident.number == number).first()
    assert incident.status == "new" and incident.created_by == customer.admin_id
    assert incident.title == "Le NAS ne démarre plus" and incident.nature == "defective"
    assert incident.delivery_label == "Adresse principale" and incident.delivery_city == "Lyon"
    assert await IncidentArticle.count().where(IncidentArticle.incident == incident.id) == 2
    history = await IncidentStatusChange.objects().where(IncidentStatusChange.incident == incident.id)
    assert [(h.from_status, h.to_status) for h in history] == [(None, "new")]
    notes = await Notification.objects().where(Notification.kind == "new_incident")
    assert [n.title for n in notes] == [f"[Nouvel incident] Incident n. {number}"]
    page = text_of((await client.get(f"/incidents/{number}?declared=1")).text)
    assert f"Votre déclaration n° {number} a été transmise à votre revendeur." in page
    listing = text_of((await client.get("/incidents")).text)
    assert number in listing and "Nouveau" in listing and "NAS0001" in listing


async def test_each_step_refuses_bad_input_beside_the_field_and_keeps_the_rest(client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    response = await post_form(client, f"/incidents/drafts/{draft}/declaration",
                               {"title": "Panne", "nature": "", "action": "next"})
    assert response.status_code == 422
    assert field_error(response.text, "nature") == "Ce champ est obligatoire."
    assert field_error(response.text, "articles") == "Cochez au moins un produit concerné."
    assert 'value="Panne"' in response.text
    response = await post_form(client, f"/incidents/drafts/{draft}/declaration",
                               {"title": "", "nature": "burnt", "articles": "999999", "action": "next"})
    assert field_error(response.text, "title") == "Ce champ est obligatoire."
    assert field_error(response.text, "nature") == "Choisissez une nature d'incident dans la liste."
    assert field_error(response.text, "articles") == "Ce produit ne fait pas partie de ce contrat."
    response = await post_form(client, f"/incidents/drafts/{draft}/description", {"description": "  ", "action": "next"})
    assert field_error(response.text, "description") == "Ce champ est obligatoire."
    response = await post_form(client, f"/incidents/drafts/{draft}/address",
                               {"address": "new", "new_label": "Agence", "new_street": "", "new_city": "Paris",
                                "new_postal_code": "75001", "new_country": "France", "new_email": "bad",
                                "new_phone": "0102030405", "action": "next"})
    assert field_error(response.text, "new_street") == "Ce champ est obligatoire."
    assert field_error(response.text, "new_email").startswith("Adresse e-mail invalide")
    assert 'value="Agence"' in response.text
    assert await DeliveryAddress.count() == 1  # nothing half-written
    response = await post_form(client, f"/incidents/drafts/{draft}/address", {"action": "next"})
    assert "Sélectionnez une adresse" in field_error(response.text, "address")


async def test_submission_refused_while_a_step_is_incomplete(client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    response = await post_form(client, f"/incidents/drafts/{draft}/submit")
    assert response.status_code == 422
    page = text_of(response.text)
    assert "Complétez l'intitulé, la nature et les produits concernés." in page
    assert "Décrivez la panne." in page and "Choisissez une adresse de livraison." in page
    assert (await Incident.objects().first()).status == "draft"


async def test_draft_is_resumed_by_a_fresh_request_sequence(client, new_client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    await post_form(client, f"/incidents/drafts/{draft}/declaration",
                    {"title": "Disque bruyant", "nature": "damaged", "articles": str((await article_ids("1001"))[1]),
                     "action": "next"})
    other = new_client()  # another browser, the tab was closed
    await sign_in(other, "acme_admin")
    contract_page = (await other.get("/contracts/1001")).text
    assert "Reprendre ma déclaration" in contract_page
    assert f'href="/incidents/drafts/{draft}/description"' in contract_page
    resumed = await other.get("/contracts/1001/incidents/new")
    assert resumed.headers["location"] == f"/incidents/drafts/{draft}/description"
    page = (await other.get(f"/incidents/drafts/{draft}/declaration")).text
    assert 'value="Disque bruyant"' in page
    assert '<option value="damaged" selected>' in page
    assert await start(other, "1001") == draft  # never two drafts for one contract


async def test_back_and_forth_between_steps_keeps_what_was_typed(client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    ids = await article_ids("1001")
    await post_form(client, f"/incidents/drafts/{draft}/declaration",
                    {"title": "Alimentation HS", "nature": "other", "articles": str(ids[0]), "action": "next"})
    back = await post_form(client, f"/incidents/drafts/{draft}/description",
                           {"description": "Pas encore fini", "action": "back"})
    assert back.headers["location"] == f"/incidents/drafts/{draft}/declaration"
    forward = (await client.get(f"/incidents/drafts/{draft}/description")).text
    assert "Pas encore fini" in forward
    # going back with an incomplete declaration saves it as typed, without refusing
    back = await post_form(client, f"/incidents/drafts/{draft}/declaration",
                           {"title": "Alimentation HS !", "nature": "", "action": "back"})
    assert back.headers["location"] == f"/incidents/drafts/{draft}/contract"
    assert (await Incident.objects().first()).title == "Alimentation HS !"



async def test_a_half_typed_new_address_is_kept_when_going_back_and_not_saved_to_the_book(client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    addresses_before = await DeliveryAddress.count()
    back = await post_form(client, f"/incidents/drafts/{draft}/address", {
        "address": "new", "new_label": "Agence de Grenoble", "new_street": "8 <b>quai</b> Perrière",
        "new_city": "Grenoble", "new_postal_code": "", "action": "back"})
    assert back.headers["location"] == f"/incidents/drafts/{draft}/description"
    assert await DeliveryAddress.count() == addresses_before  # nothing half-written in the book
    page = (await client.get(f"/incidents/drafts/{draft}/address")).text
    assert 'id="f-address-new" type="radio" name="address" value="new" checked' in page
    assert 'value="Agence de Grenoble"' in page and 'value="Grenoble"' in page
    assert 'value="8 &lt;b&gt;quai&lt;/b&gt; Perrière"' in page
    # choosing an address of the book afterwards wins, and the typed one is not offered again
    chosen = (await DeliveryAddress.select(DeliveryAddress.id).first())["id"]
    await post_form(client, f"/incidents/drafts/{draft}/address", {"address": str(chosen), "action": "back"})
    page = (await client.get(f"/incidents/drafts/{draft}/address")).text
    assert f'value="{chosen}" checked' in page and "Agence de Grenoble" not in page

async def test_htmx_step_answers_the_step_block_and_moves_on_with_hx_location(client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    headers = {"HX-Request": "true", "HX-Target": "wizard-step", "x-csrftoken": client.cookies["csrftoken"]}
    step = await client.get(f"/incidents/drafts/{draft}/declaration", headers=headers)
    assert step.text.lstrip().startswith('<div id="wizard-step"') and "<html" not in step.text
    moved = await client.post(f"/incidents/drafts/{draft}/description", headers=headers,
                              data={"description": "Texte", "action": "next"})
    assert f'"path": "/incidents/drafts/{draft}/address"' in moved.headers["hx-location"]
    refused = await client.post(f"/incidents/drafts/{draft}/description", headers=headers,
                                data={"description": "", "action": "next"})
    assert refused.status_code == 422 and refused.text.lstrip().startswith('<div id="wizard-step"')


async def test_new_address_is_saved_to_the_address_book_and_copied_into_the_incident(client):
    _, customer = await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    ids = await article_ids("1001")
    await post_form(client, f"/incidents/drafts/{draft}/declaration",
                    {"title": "Panne", "nature": "defective", "articles": str(ids[0]), "action": "next"})
    await post_form(client, f"/incidents/drafts/{draft}/description", {"description": "x", "action": "next"})
    response = await post_form(client, f"/incidents/drafts/{draft}/address", {
        "address": "new", "new_label": "Agence de Paris", "new_recipient_name": "Service IT",
        "new_street": "5 rue de Rivoli", "new_city": "Paris", "new_postal_code": "75001",
        "new_country": "France", "new_email": "it@acme.example", "new_phone": "01 02 03 04 05", "action": "next"})
    assert response.status_code == 303
    book = await DeliveryAddress.objects().where(DeliveryAddress.company == customer.company_id)
    assert sorted(a.label for a in book) == ["Adresse principale", "Agence de Paris"]
    await post_form(client, f"/incidents/drafts/{draft}/submit")
    # a later edit of the address book does not rewrite the incident's copy
    await DeliveryAddress.update({DeliveryAddress.street: "1 place Neuve"}).where(
        DeliveryAddress.label == "Agence de Paris")
    incident = await Incident.objects().first()
    assert incident.delivery_street == "5 rue de Rivoli" and incident.delivery_recipient == "Service IT"


async def test_archived_address_is_not_offered_and_cannot_be_chosen(client):
    _, customer = await _setup()
    await DeliveryAddress.update({DeliveryAddress.archived_at: datetime.now(timezone.utc)}).where(
        DeliveryAddress.company == customer.company_id)
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    archived = await DeliveryAddress.objects().first()
    page = (await client.get(f"/incidents/drafts/{draft}/address")).text
    assert f'value="{archived.id}"' not in page
    response = await post_form(client, f"/incidents/drafts/{draft}/address",
                               {"address": str(archived.id), "action": "next"})
    assert response.status_code == 422


async def test_basic_user_and_expired_contract_are_refused_by_the_server(client, new_client):
    await _setup()
    await sign_in(client, "acme_basic")
    assert (await client.get("/contracts/1001/incidents/new")).status_code == 403
    assert (await post_form(client, "/contracts/1001/incidents")).status_code == 403
    assert await Incident.count() == 0

    reseller_id = (await make_reseller("R9"))
    await make_contract(reseller_id, "2002", "OLD0001", ends_on=date.today() - timedelta(days=1))
    admin = new_client()
    await sign_in(admin, "acme_admin")
    await post_form(admin, "/contracts/activate", {"serial": "OLD0001"})
    forged = await post_form(admin, "/contracts/2002/incidents")
    assert forged.status_code == 403
    assert "n'est plus protégé" in text_of(forged.text)
    assert await Incident.count() == 0


async def test_contract_expiring_while_the_draft_is_open_refuses_submission(client):
    await _setup()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    from app.db.tables import Contract

    await Contract.update({Contract.ends_on: date.today() - timedelta(days=2),
                           Contract.starts_on: date.today() - timedelta(days=400)}).where(Contract.number == "1001")
    response = await post_form(client, f"/incidents/drafts/{draft}/submit")
    assert response.status_code == 403
    assert (await Incident.objects().first()).status == "draft"


async def test_drafts_are_private_to_their_author(client, new_client):
    _, customer = await _setup()
    from app.accounts.services import create_user
    from tests.support import DEFAULT_PASSWORD

    await create_user(username="acme_admin2", first_name="B", last_name="B", email="b@example.com",
                      role="admin", company_id=customer.company_id, password=DEFAULT_PASSWORD)
    await make_customer("rival")
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    for username in ("acme_admin2", "rival_admin"):
        other = new_client()
        await sign_in(other, username)
        assert (await other.get(f"/incidents/drafts/{draft}/declaration")).status_code == 404
        assert (await post_form(other, f"/incidents/drafts/{draft}/submit")).status_code == 404
    listing = text_of((await client.get("/incidents")).text)
    assert "Aucun incident déclaré" in listing  # a draft is not an incident yet


async def test_stale_drafts_are_purged_after_thirty_days(client):
    await _setup()
    await sign_in(client, "acme_admin")
    await start(client, "1001")
    from app.incidents.wizard import purge_stale_drafts

    assert await purge_stale_drafts() == 0
    assert await purge_stale_drafts(datetime.now(timezone.utc) + timedelta(days=31)) == 1
    assert await Incident.count() == 0


async def test_twenty_parallel_submissions_get_twenty_distinct_numbers():
    day = date(2031, 5, 17)
    numbers = await asyncio.gather(*[_allocate_in_own_transaction(day) for _ in range(20)])
    assert sorted(numbers) == [format_number(day, n) for n in range(1, 21)]
    assert (await IncidentDayCounter.objects().where(IncidentDayCounter.day == day).first()).last_value == 20


async def _allocate_in_own_transaction(day: date) -> str:
    async with Incident._meta.db.transaction():
        number = await allocate_number(day)
        await asyncio.sleep(0.01)  # hold the transaction open so the others wait on the row
        return number


async def test_sequence_widens_to_three_digits_past_99():
    day = date(2031, 5, 18)
    await IncidentDayCounter.insert(IncidentDayCounter(day=day, last_value=99))
    assert await allocate_number(day) == "310518100"
    assert format_number(date(2020, 12, 23), 1) == "20122301"


async def test_twenty_parallel_declarations_through_http(app, new_client):
    await _setup()
    clients = [new_client(f"198.51.100.{i}") for i in range(20)]
    drafts = []
    for index, http in enumerate(clients):
        await sign_in(http, "acme_admin")
    for index, http in enumerate(clients):
        drafts.append(await _prepared_draft(http, index))
    responses = await asyncio.gather(*[post_form(http, f"/incidents/drafts/{d}/submit")
                                       for http, d in zip(clients, drafts)])
    assert all(r.status_code == 303 for r in responses), [r.status_code for r in responses]
    numbers = [r.headers["location"].split("/")[2].split("?")[0] for r in responses]
    assert len(set(numbers)) == 20
    assert sorted(numbers) == [format_number(today_paris(), n) for n in range(1, 21)]


async def _prepared_draft(http, index: int) -> int:
    from app.accounts.sessions import CurrentUser  # noqa: F401  (documentation of who acts)
    from app.db.tables import Contract

    contract = await Contract.objects().where(Contract.number == "1001").first()
    ids = await article_ids("1001")
    rows = await Incident.insert(Incident(contract=contract.id, company=contract.company, reseller=contract.reseller,
                                          created_by=(await _admin_id()), status="draft",
                                          title=f"Panne {index}", nature="defective", description="x",
                                          delivery_address=(await DeliveryAddress.objects().first()).id)
                                 ).returning(Incident.id)
    await IncidentArticle.insert(IncidentArticle(incident=rows[0]["id"], article=ids[0]))
    return rows[0]["id"]


async def _admin_id() -> int:
    from app.db.tables import User

    return (await User.objects().where(User.username == "acme_admin").first()).id
