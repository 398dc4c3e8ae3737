"""Extensions (SPEC §4, issue 7): the reseller's catalogue of offers — create, edit, retire, reactivate."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from app.accounts.services import create_user
from app.db.tables import AuditEvent, ExtensionOffer, QuoteRequest
from tests.factories import make_contract, make_customer, make_reseller
from tests.support import DEFAULT_PASSWORD, field_error, field_value, post_form, sign_in, text_of

OFFER = {"code": "CL-SV-E3TS131K", "label": "Extension 2 ans au contrat SQP - Chassis uniquement",
         "duration_months": "24", "product_references": "TS-131K-1TIW, TS-131K\nTS-131K\n\n"}


def _only_panel(page: str, panel: str) -> bool:
    """An htmx answer: the panel alone (perhaps with the page's <title>), not a whole page."""
    return f'<div id="{panel}"' in page and "<html" not in page and "<main" not in page


async def _reseller_with_admin(code: str = "R1") -> int:
    """A reseller with an agent `agent_<code>` and an administrator `admin_<code>`."""
    reseller_id = await make_reseller(code, agent=f"agent_{code.lower()}")
    await create_user(username=f"admin_{code.lower()}", first_name="Admin", last_name=code,
                      email=f"admin_{code.lower()}@example.com", role="admin", reseller_id=reseller_id,
                      password=DEFAULT_PASSWORD)
    return reseller_id


async def _offer(reseller_id: int, code: str = "EXT-2Y", references=("TS-131K-1TIW",), active: bool = True) -> int:
    rows = await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code=code, label=f"Extension 2 ans {code}", duration_months=24,
        product_references=list(references), is_active=active,
    )).returning(ExtensionOffer.id)
    return rows[0]["id"]


async def test_catalogue_is_read_by_every_reseller_user_and_written_by_administrators(client, new_client):
    reseller_id = await _reseller_with_admin()
    await _offer(reseller_id, "EXT-2Y", ("TS-131K-1TIW", "TS-131K"))
    await _offer(reseller_id, "EXT-OLD", active=False)
    await sign_in(client, "agent_r1")
    page = text_of((await client.get("/reseller/extensions")).text)
    assert "Code Libellé Durée Références produit État" in page
    assert "EXT-2Y Extension 2 ans EXT-2Y 24 mois TS-131K-1TIW TS-131K Proposée" in page
    assert "EXT-OLD" in page and "Retirée" in page
    assert page.index("EXT-2Y") < page.index("EXT-OLD")  # offers still proposed come first
    assert "Nouvelle extension" not in page and "Modifier" not in page
    admin = new_client()
    await sign_in(admin, "admin_r1")
    page = text_of((await admin.get("/reseller/extensions")).text)
    assert "Nouvelle extension" in page and "Modifier EXT-2Y" in page and "Retirer EXT-2Y" in page
    assert "Réactiver EXT-OLD" in page
    fragment = await admin.get("/reseller/extensions", headers={"HX-Request": "true", "HX-Target": "extensions-panel"})
    assert _only_panel(fragment.text, "extensions-panel")


async def test_catalogue_is_paginated_by_25(client):
    reseller_id = await _reseller_with_admin()
    await ExtensionOffer.insert(*[ExtensionOffer(reseller=reseller_id, code=f"EXT-{n:02d}", label="x",
                                                 duration_months=12, product_references=["X"]) for n in range(30)])
    await sign_in(client, "admin_r1")
    first = (await client.get("/reseller/extensions")).text
    second = (await client.get("/reseller/extensions", params={"page": 2})).text
    assert first.count("Modifier<") == 25 and second.count("Modifier<") == 5
    assert "1–25 sur 30" in text_of(first) and 'rel="next"' in first


async def test_new_offer_with_references_separated_by_commas_or_lines_reaches_customers(client, new_client):
    reseller_id = await _reseller_with_admin()
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    customer = new_client()
    await sign_in(customer, "acme_admin")
    assert "CL-SV-E3TS131K" not in (await customer.get("/contracts/1001")).text
    await sign_in(client, "admin_r1")
    form = text_of((await client.get("/reseller/extensions/new")).text)
    assert "Nouvelle extension" in form and "Références produit" in form and "Durée (mois)" in form
    response = await post_form(client, "/reseller/extensions", OFFER)
    assert response.status_code == 303
    assert response.headers["location"] == "/reseller/extensions?saved=created"
    offer = await ExtensionOffer.objects().first()
    assert (offer.reseller, offer.code, offer.label, offer.duration_months, offer.is_active) == (
        reseller_id, "CL-SV-E3TS131K", OFFER["label"], 24, True)
    assert offer.product_references in (["TS-131K-1TIW", "TS-131K"], '["TS-131K-1TIW", "TS-131K"]')
    listing = text_of((await client.get(response.headers["location"])).text)
    assert "L'extension est créée" in listing and "CL-SV-E3TS131K" in listing
    assert await AuditEvent.count().where(AuditEvent.action == "offer_created") == 1
    contract_page = text_of((await customer.get("/contracts/1001")).text)
    assert OFFER["label"] in contract_page


async def test_new_offer_refusals_keep_values_and_write_nothing(client):
    reseller_id = await _reseller_with_admin()
    other_reseller = await make_reseller("R2")
    await _offer(reseller_id, "EXT-2Y")
    await _offer(other_reseller, "CL-SV-E3TS131K")  # another reseller's code is no clash
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/extensions", {
        "code": "EXT 2", "label": "", "duration_months": "deux", "product_references": " , \n"})
    assert response.status_code == 422
    assert field_error(response.text, "code") == "Lettres, chiffres et . _ / - seulement, sans espace."
    assert field_error(response.text, "label") == "Ce champ est obligatoire."
    assert field_error(response.text, "duration_months") == "Un nombre de mois entre 1 et 120."
    assert field_error(response.text, "product_references") == "Indiquez au moins une référence produit."
    assert field_value(response.text, "code") == "EXT 2" and field_value(response.text, "duration_months") == "deux"
    duplicate = await post_form(client, "/reseller/extensions", {**OFFER, "code": "ext-2y", "duration_months": "0"})
    assert duplicate.status_code == 422
    assert field_error(duplicate.text, "code") == "Vous avez déjà une extension avec ce code."
    assert field_error(duplicate.text, "duration_months") == "Un nombre de mois entre 1 et 120."
    assert "Extension 2 ans au contrat SQP - Chassis uniquement</textarea>" in duplicate.text
    assert "TS-131K-1TIW, TS-131K" in duplicate.text
    assert await ExtensionOffer.count().where(ExtensionOffer.reseller == reseller_id) == 1
    assert (await post_form(client, "/reseller/extensions", OFFER)).status_code == 303


async def test_edit_an_offer_and_its_refusals(client):
    reseller_id = await _reseller_with_admin()
    offer_id = await _offer(reseller_id, "EXT-2Y", ("TS-131K-1TIW", "TS-131K"))
    await _offer(reseller_id, "EXT-3Y")
    await sign_in(client, "admin_r1")
    form = (await client.get(f"/reseller/extensions/{offer_id}")).text
    assert field_value(form, "code") == "EXT-2Y" and field_value(form, "duration_months") == "24"
    assert ">TS-131K-1TIW\nTS-131K</textarea>" in form
    assert "Retirer cette extension" in text_of(form)
    refused = await post_form(client, f"/reseller/extensions/{offer_id}",
                              {**OFFER, "code": "EXT-3Y", "label": "Nouveau"})
    assert refused.status_code == 422
    assert field_error(refused.text, "code") == "Vous avez déjà une extension avec ce code."
    assert ">Nouveau</textarea>" in refused.text
    unchanged = await ExtensionOffer.objects().where(ExtensionOffer.id == offer_id).first()
    assert (unchanged.code, unchanged.label) == ("EXT-2Y", "Extension 2 ans EXT-2Y")
    saved = await post_form(client, f"/reseller/extensions/{offer_id}", {
        "code": "EXT-2Y", "label": "Extension 3 ans", "duration_months": "36", "product_references": "DS224PLUS"})
    assert saved.headers["location"] == "/reseller/extensions?saved=updated"
    offer = await ExtensionOffer.objects().where(ExtensionOffer.id == offer_id).first()
    assert (offer.label, offer.duration_months) == ("Extension 3 ans", 36)
    assert offer.product_references in (["DS224PLUS"], '["DS224PLUS"]')


async def test_saving_with_htmx_answers_the_catalogue_in_place_and_pushes_its_url(client):
    await _reseller_with_admin()
    await sign_in(client, "admin_r1")
    headers = {"HX-Request": "true", "HX-Target": "extensions-panel", "x-csrftoken": client.cookies["csrftoken"]}
    response = await client.post("/reseller/extensions", data=OFFER, headers=headers)
    assert response.status_code == 200
    assert _only_panel(response.text, "extensions-panel")
    assert "L'extension est créée" in text_of(response.text)
    assert response.headers["hx-push-url"] == "/reseller/extensions"
    refused = await client.post("/reseller/extensions", data={**OFFER, "label": ""}, headers=headers)
    assert refused.status_code == 422 and _only_panel(refused.text, "extensions-panel")


async def test_a_retired_offer_disappears_from_the_customers_contract_page(client, new_client):
    reseller_id = await _reseller_with_admin()
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    offer_id = await _offer(reseller_id, "EXT-2Y")
    customer = new_client()
    await sign_in(customer, "acme_admin")
    assert "Extension 2 ans EXT-2Y" in text_of((await customer.get("/contracts/1001")).text)
    await sign_in(client, "admin_r1")
    retired = await post_form(client, f"/reseller/extensions/{offer_id}/retire")
    assert retired.headers["location"] == "/reseller/extensions?saved=retired"
    assert (await ExtensionOffer.objects().where(ExtensionOffer.id == offer_id).first()).is_active is False
    page = text_of((await customer.get("/contracts/1001")).text)
    assert "Extension 2 ans EXT-2Y" not in page and "Aucune extension n'est proposée" in page
    assert (await post_form(customer, "/contracts/1001/quotes", {"offer": str(offer_id)})).status_code == 404
    assert await QuoteRequest.count() == 0
    assert "Retirée" in text_of((await client.get("/reseller/extensions")).text)
    assert (await post_form(client, f"/reseller/extensions/{offer_id}/reactivate")).status_code == 303
    assert "Extension 2 ans EXT-2Y" in text_of((await customer.get("/contracts/1001")).text)


async def test_an_agent_reads_the_catalogue_but_gets_403_on_every_write(client):
    reseller_id = await _reseller_with_admin()
    offer_id = await _offer(reseller_id, "EXT-2Y")
    await sign_in(client, "agent_r1")
    assert (await client.get("/reseller/extensions")).status_code == 200
    for url in ("/reseller/extensions/new", f"/reseller/extensions/{offer_id}"):
        assert (await client.get(url)).status_code == 403, url
    for url in ("/reseller/extensions", f"/reseller/extensions/{offer_id}",
                f"/reseller/extensions/{offer_id}/retire", f"/reseller/extensions/{offer_id}/reactivate"):
        response = await post_form(client, url, {**OFFER, "code": "HACK"})
        assert response.status_code == 403, url
        assert "Action non autorisée" in response.text
    offers = await ExtensionOffer.objects()
    assert [(o.code, o.is_active) for o in offers] == [("EXT-2Y", True)]


async def test_another_resellers_offer_is_404_and_untouched(client):
    await _reseller_with_admin("R1")
    rival = await make_reseller("R2")
    rival_offer = await _offer(rival, "RIVAL-EXT")
    await sign_in(client, "admin_r1")
    assert (await client.get(f"/reseller/extensions/{rival_offer}")).status_code == 404
    for url in (f"/reseller/extensions/{rival_offer}", f"/reseller/extensions/{rival_offer}/retire"):
        assert (await post_form(client, url, {**OFFER, "code": "MINE"})).status_code == 404, url
    assert "RIVAL-EXT" not in (await client.get("/reseller/extensions")).text
    offer = await ExtensionOffer.objects().where(ExtensionOffer.id == rival_offer).first()
    assert (offer.code, offer.is_active) == ("RIVAL-EXT", True)


async def test_a_customer_gets_404_on_every_extensions_url(app, client):
    reseller_id = await make_reseller("R1")
    offer_id = await _offer(reseller_id, "EXT-2Y")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    await sign_in(client, "acme_admin")
    routes = sorted({(method, route.path) for route in app.routes if isinstance(route, HTTPRoute)
                     and route.path.startswith("/reseller/extensions") for handler in route.route_handlers
                     for method in handler.http_methods if method in ("GET", "POST")})
    assert len(routes) == 7, routes
    for method, path in routes:
        url = re.sub(r"\{\w+:int\}", str(offer_id), path)
        response = await (client.get(url) if method == "GET" else post_form(client, url, OFFER))
        assert response.status_code == 404, (method, url)
    assert [(o.code, o.is_active) for o in await ExtensionOffer.objects()] == [("EXT-2Y", True)]
