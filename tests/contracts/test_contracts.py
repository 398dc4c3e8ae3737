"""Mes contrats, the contract page, Activer mon contrat and quote requests (SPEC §3.4–3.6)."""

from __future__ import annotations

from datetime import date, timedelta

from app.db.tables import Contract, ExtensionOffer, Notification, QuoteRequest, RateLimitHit
from tests.factories import make_contract, make_customer, make_reseller
from tests.support import field_error, post_form, sign_in, text_of


async def _customer_with_contract(prefix="acme", serial="NAS0001", number="1001", **contract):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, number, serial, disks=("DISK0001",), **contract)
    customer = await make_customer(prefix, serial=serial)
    return reseller_id, customer


async def _offer(reseller_id: int, code="EXT-2Y", references=("TS-131K-1TIW",)) -> int:
    rows = await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code=code, label=f"Extension 2 ans {code}", duration_months=24,
        product_references=list(references),
    )).returning(ExtensionOffer.id)
    return rows[0]["id"]


async def test_mes_contrats_lists_number_reference_serial_and_protection(client):
    await _customer_with_contract()
    await sign_in(client, "acme_admin")
    page = text_of((await client.get("/contracts")).text)
    assert "1001" in page and "TS-131K-1TIW" in page and "NAS0001" in page
    assert "Protégé jusqu'au" in page
    assert "Voir le contrat" in page


async def test_protection_states_ok_ending_and_expired(client):
    reseller_id, _ = await _customer_with_contract()
    await make_contract(reseller_id, "1002", "NAS0002", ends_on=date.today() + timedelta(days=20))
    await make_contract(reseller_id, "1003", "NAS0003", ends_on=date.today() - timedelta(days=3))
    await sign_in(client, "acme_admin")
    for serial in ("NAS0002", "NAS0003"):
        await post_form(client, "/contracts/activate", {"serial": serial})
    page = text_of((await client.get("/contracts")).text)
    assert "plus que 20 jours" in page
    assert f"N'est plus protégé depuis le {(date.today() - timedelta(days=3)):%d/%m/%Y}" in page


async def test_search_matches_number_reference_and_any_article_serial(client):
    reseller_id, _ = await _customer_with_contract()
    await make_contract(reseller_id, "2002", "OTHER9", product="DS224PLUS")
    await post_form(client, "/login", {})  # get a CSRF cookie
    await sign_in(client, "acme_admin")
    await post_form(client, "/contracts/activate", {"serial": "other9"})
    for query, expected, absent in (("1001", "1001", "2002"), ("ds224", "2002", "1001"),
                                    ("disk 0001", "1001", "2002"), ("nas00", "1001", "2002")):
        page = text_of((await client.get("/contracts", params={"q": query})).text)
        assert expected in page, query
        assert absent not in page, query
    empty = text_of((await client.get("/contracts", params={"q": "zzz%"})).text)
    assert "Aucun contrat ne correspond à « zzz% »" in empty


async def test_search_as_you_type_answers_only_the_results_block(client):
    await _customer_with_contract()
    await sign_in(client, "acme_admin")
    response = await client.get("/contracts", params={"q": "1001"},
                                headers={"HX-Request": "true", "HX-Target": "contract-results"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="contract-results"')
    assert "<html" not in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_list_is_paginated_by_25(client):
    reseller_id = await make_reseller("R1")
    customer = await make_customer("acme")
    for index in range(30):
        await make_contract(reseller_id, f"5{index:03d}", f"SER{index:03d}")
    await Contract.update({Contract.company: customer.company_id}).where(Contract.reseller == reseller_id)
    await sign_in(client, "acme_admin")
    first = (await client.get("/contracts")).text
    second = (await client.get("/contracts", params={"page": 2})).text
    assert first.count("Voir le contrat<") == 25
    assert second.count("Voir le contrat<") == 5
    assert "1–25 sur 30" in text_of(first) and "Page 1 / 2" in text_of(first)
    assert 'rel="next"' in first and 'rel="prev"' in second


async def test_contract_detail_full_page_fragment_and_history_restore(client):
    await _customer_with_contract()
    await sign_in(client, "acme_admin")
    full = await client.get("/contracts/1001")
    assert full.status_code == 200 and "<html" in full.text
    assert "Mes contrats > Contrat n°1001" in text_of(full.text)
    assert "Contrat pour TS-131K-1TIW" in full.text
    fragment = await client.get("/contracts/1001", headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" not in fragment.text and "Contrat pour TS-131K-1TIW" in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    restore = await client.get("/contracts/1001", headers={"HX-Request": "true",
                                                          "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    boosted = await client.get("/contracts/1001", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text


async def test_contract_detail_shows_articles_and_matching_offers_only(client):
    reseller_id, _ = await _customer_with_contract()
    await _offer(reseller_id, "EXT-2Y", ("TS-131K-1TIW",))
    await _offer(reseller_id, "EXT-DISK", ("ST1000VN002",))  # matches the disk article
    await _offer(reseller_id, "EXT-OTHER", ("DS224PLUS",))
    other_reseller = await make_reseller("R2")
    await _offer(other_reseller, "EXT-R2", ("TS-131K-1TIW",))
    await sign_in(client, "acme_admin")
    page = text_of((await client.get("/contracts/1001")).text)
    assert "NAS0001" in page and "DISK0001" in page and "Référence produit" in page
    assert "EXT-2Y" in page and "EXT-DISK" in page
    assert "EXT-OTHER" not in page and "EXT-R2" not in page
    assert "Votre matériel est protégé jusqu'au" in page


async def test_specs_link_opens_in_a_new_tab_without_opener(client):
    reseller_id = await make_reseller("R1")
    from tests.factories import HEADER
    from app.contracts.csv_import import import_contracts

    await import_contracts(HEADER + "7001,TS-131K-1TIW,2024-01-01,2030-01-01,nas,NAS,TS-131K,SPEC1,"
                           "https://example.com/specs\n", reseller_id)
    await make_customer("acme", serial="SPEC1")
    await sign_in(client, "acme_admin")
    page = (await client.get("/contracts/7001")).text
    assert 'href="https://example.com/specs" target="_blank" rel="noopener noreferrer"' in page


async def test_another_company_and_unclaimed_contracts_answer_404(client):
    reseller_id, _ = await _customer_with_contract()
    await make_contract(reseller_id, "9999", "FREE001")  # unclaimed
    await make_customer("rival")
    offer_id = await _offer(reseller_id)
    await sign_in(client, "rival_admin")
    for url in ("/contracts/1001", "/contracts/9999", "/contracts/nope"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Page introuvable" in response.text
    response = await post_form(client, "/contracts/1001/quotes", {"offer": str(offer_id)})
    assert response.status_code == 404
    assert await QuoteRequest.count() == 0
    listing = text_of((await client.get("/contracts")).text)
    assert "1001" not in listing


async def test_reseller_users_get_404_on_customer_pages(client):
    await _customer_with_contract()
    await sign_in(client, "agent_r1")
    assert (await client.get("/contracts")).status_code == 404
    assert (await client.get("/contracts/1001")).status_code == 404


async def test_activation_adds_the_contract_and_normalises_the_serial(client):
    reseller_id, customer = await _customer_with_contract()
    await make_contract(reseller_id, "3003", "Q21AB00042")
    await sign_in(client, "acme_admin")
    response = await post_form(client, "/contracts/activate", {"serial": "  q21ab 00042 "})
    assert response.status_code == 303
    assert response.headers["location"] == "/contracts/3003?activated=1"
    contract = await Contract.objects().where(Contract.number == "3003").first()
    assert contract.company == customer.company_id
    assert contract.activated_by == customer.admin_id and contract.activated_at is not None
    page = text_of((await client.get(response.headers["location"])).text)
    assert "Le contrat n°3003 est maintenant dans votre espace." in page


async def test_activation_through_htmx_redirects_with_hx_location(client):
    reseller_id, _ = await _customer_with_contract()
    await make_contract(reseller_id, "3003", "Q21AB00042")
    await sign_in(client, "acme_admin")
    response = await client.post("/contracts/activate", data={"serial": "Q21AB00042"},
                                 headers={"HX-Request": "true", "HX-Target": "activation-form",
                                          "x-csrftoken": client.cookies["csrftoken"]})
    assert response.headers["hx-location"] == "/contracts/3003?activated=1"


async def test_activation_messages_unknown_already_here_and_elsewhere(client):
    reseller_id, _ = await _customer_with_contract()
    await make_contract(reseller_id, "4004", "TAKEN01")
    await make_customer("rival", serial="TAKEN01")
    await sign_in(client, "acme_admin")
    unknown = await post_form(client, "/contracts/activate", {"serial": "NOPE-123"})
    assert unknown.status_code == 422
    assert field_error(unknown.text, "serial").startswith("Aucun contrat ne correspond à ce numéro de série.")
    assert 'href="/help/serial-number"' in unknown.text
    assert 'value="NOPE-123"' in unknown.text
    here = await post_form(client, "/contracts/activate", {"serial": "nas0001"})
    assert field_error(here.text, "serial").startswith("Ce contrat est déjà dans votre espace.")
    elsewhere = await post_form(client, "/contracts/activate", {"serial": "TAKEN01"})
    assert "déjà associé à un autre compte — contactez votre revendeur" in field_error(elsewhere.text, "serial")
    assert "rival" not in elsewhere.text.lower()
    empty = await post_form(client, "/contracts/activate", {"serial": "  "})
    assert field_error(empty.text, "serial").startswith("Ce champ est obligatoire.")
    assert await Contract.count().where(Contract.number == "4004") == 1


async def test_activation_in_the_dialog_answers_the_form_block(client):
    await _customer_with_contract()
    await sign_in(client, "acme_admin")
    dialog = await client.get("/contracts/activate", headers={"HX-Request": "true", "HX-Target": "dialog-slot"})
    assert dialog.text.lstrip().startswith("<dialog")
    refused = await client.post("/contracts/activate", data={"serial": "NOPE"},
                                headers={"HX-Request": "true", "HX-Target": "activation-form",
                                         "x-csrftoken": client.cookies["csrftoken"]})
    assert refused.status_code == 422
    assert refused.text.lstrip().startswith('<form id="activation-form"')


async def test_activation_is_limited_to_ten_attempts_per_company_per_hour(client, new_client):
    await _customer_with_contract()
    await sign_in(client, "acme_admin")
    for attempt in range(10):
        response = await post_form(client, "/contracts/activate", {"serial": f"GUESS{attempt}"})
        assert response.status_code == 422
    limited = await post_form(client, "/contracts/activate", {"serial": "GUESS99"})
    assert limited.status_code == 429
    assert "Trop de tentatives d'activation" in text_of(limited.text)
    assert await RateLimitHit.count().where(RateLimitHit.bucket == "activation") == 10


async def test_basic_user_cannot_activate_nor_request_a_quote(client):
    reseller_id, _ = await _customer_with_contract()
    offer_id = await _offer(reseller_id)
    await make_contract(reseller_id, "3003", "Q21AB00042")
    await sign_in(client, "acme_basic")
    assert (await client.get("/contracts/activate")).status_code == 403
    response = await post_form(client, "/contracts/activate", {"serial": "Q21AB00042"})
    assert response.status_code == 403
    assert "Action non autorisée" in response.text
    assert (await Contract.objects().where(Contract.number == "3003").first()).company is None
    assert (await post_form(client, "/contracts/1001/quotes", {"offer": str(offer_id)})).status_code == 403
    assert await QuoteRequest.count() == 0
    page = (await client.get("/contracts/1001")).text
    assert "Demander un devis" not in page
    assert "Déclarer un incident" not in page
    assert "Activer mon contrat" not in page


async def test_quote_request_notifies_the_resellers_users_and_refuses_a_duplicate(client):
    reseller_id, customer = await _customer_with_contract()
    offer_id = await _offer(reseller_id)
    await sign_in(client, "acme_admin")
    response = await post_form(client, "/contracts/1001/quotes", {"offer": str(offer_id)})
    assert response.status_code == 200
    page = text_of(response.text)
    assert "Votre demande de devis pour EXT-2Y a été transmise à votre revendeur" in page
    assert "Demande envoyée" in page
    quote = await QuoteRequest.objects().first()
    assert (quote.status, quote.offer, quote.requested_by) == ("requested", offer_id, customer.admin_id)
    notes = await Notification.objects().where(Notification.kind == "quote_request")
    assert len(notes) == 1  # the reseller's only user, agent_r1
    assert notes[0].title == "[Demande de devis] Contrat n°1001"
    assert notes[0].quote_request == quote.id
    duplicate = await post_form(client, "/contracts/1001/quotes", {"offer": str(offer_id)})
    assert duplicate.status_code == 422
    assert "déjà en cours" in text_of(duplicate.text)
    assert await QuoteRequest.count() == 1
    assert await Notification.count() == 1


async def test_quote_request_through_htmx_swaps_the_extensions_block(client):
    reseller_id, _ = await _customer_with_contract()
    offer_id = await _offer(reseller_id)
    await sign_in(client, "acme_admin")
    response = await client.post("/contracts/1001/quotes", data={"offer": str(offer_id)},
                                 headers={"HX-Request": "true", "HX-Target": "extensions",
                                          "x-csrftoken": client.cookies["csrftoken"]})
    assert response.text.lstrip().startswith('<section id="extensions"')


async def test_quote_for_an_offer_that_does_not_apply_is_404(client):
    reseller_id, _ = await _customer_with_contract()
    unrelated = await _offer(reseller_id, "EXT-OTHER", ("DS224PLUS",))
    await sign_in(client, "acme_admin")
    assert (await post_form(client, "/contracts/1001/quotes", {"offer": str(unrelated)})).status_code == 404
    assert (await post_form(client, "/contracts/1001/quotes", {"offer": "abc"})).status_code == 404
    assert await QuoteRequest.count() == 0


async def test_expired_contract_shows_why_no_incident_can_be_declared(client):
    await _customer_with_contract(ends_on=date.today() - timedelta(days=1))
    await sign_in(client, "acme_admin")
    page = (await client.get("/contracts/1001")).text
    assert "n'est plus protégé depuis le" in text_of(page)
    assert 'disabled aria-describedby="declare-refused"' in page
    assert 'href="/contracts/1001/incidents/new"' not in page


async def test_serial_help_page_is_public_and_illustrated(client):
    response = await client.get("/help/serial-number")
    assert response.status_code == 200
    page = text_of(response.text)
    for words in ("SN", "S/N", "QTS", "Control Panel", "Panneau de configuration", "Centre d'infos"):
        assert words in page
    assert response.text.count('src="/static/img/help/') == 3
    for name in ("nas-label", "qnap-qts", "synology-dsm"):
        image = await client.get(f"/static/img/help/{name}.svg")
        assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")
