"""Devis (SPEC §4, issue 7): the reseller answers and closes the quote requests of its customers."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from app.accounts.services import create_user
from app.db.tables import ExtensionOffer, Notification, QuoteRequest, User
from tests.factories import make_contract, make_customer, make_reseller
from tests.support import field_error, post_form, sign_in, text_of

HTMX = {"HX-Request": "true", "HX-Target": "quotes-panel"}


def _only_panel(page: str, panel: str) -> bool:
    """An htmx answer: the panel alone (perhaps with the page's <title>), not a whole page."""
    return f'<div id="{panel}"' in page and "<html" not in page and "<main" not in page


async def _offer(reseller_id: int, code: str = "EXT-2Y", references=("TS-131K-1TIW",)) -> int:
    rows = await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code=code, label=f"Extension 2 ans {code}", duration_months=24,
        product_references=list(references),
    )).returning(ExtensionOffer.id)
    return rows[0]["id"]


async def _requested_quote(customer_client, *, reseller_code: str = "R1", prefix: str = "acme",
                           number: str = "1001", serial: str = "NAS0001") -> tuple[int, int, object]:
    """A reseller with an agent, a customer holding one of its contracts, and a quote request made
    by the customer's administrator through the contract page. Returns (reseller, quote, customer)."""
    reseller_id = await make_reseller(reseller_code, agent=f"agent_{reseller_code.lower()}")
    await make_contract(reseller_id, number, serial)
    customer = await make_customer(prefix, serial=serial)
    offer_id = await _offer(reseller_id, code=f"EXT-{reseller_code}")
    await sign_in(customer_client, f"{prefix}_admin")
    response = await post_form(customer_client, f"/contracts/{number}/quotes", {"offer": str(offer_id)})
    assert response.status_code == 200
    quote = await QuoteRequest.objects().where(QuoteRequest.offer == offer_id).first()
    return reseller_id, quote.id, customer


async def test_devis_lists_requests_with_contract_company_and_offer_and_filters_by_status(client, new_client):
    reseller_id, quote_id, _ = await _requested_quote(new_client())
    await _requested_quote(new_client(), reseller_code="R2", prefix="rival", number="2002", serial="NAS0002")
    await sign_in(client, "agent_r1")
    page = text_of((await client.get("/reseller/quotes")).text)
    assert "Devis" in page
    assert "n°1001 TS-131K-1TIW" in page and "Société acme" in page and "EXT-R1" in page and "Demandé" in page
    assert "Répondre" in page
    assert "2002" not in page and "Société rival" not in page and "EXT-R2" not in page
    answered = text_of((await client.get("/reseller/quotes", params={"status": "answered"})).text)
    assert "Aucune demande de devis dans l'état « Répondu »" in answered and "EXT-R1" not in answered
    requested = await client.get("/reseller/quotes", params={"status": "requested"}, headers=HTMX)
    assert _only_panel(requested.text, "quotes-panel")
    assert "EXT-R1" in requested.text
    detail = text_of((await client.get(f"/reseller/quotes/{quote_id}")).text)
    for words in ("Demande de devis n°", "n°1001", "TS-131K-1TIW", "NAS0001", "Société acme", "acme@example.com",
                  "Admin acme", "EXT-R1 — Extension 2 ans EXT-R1 (24 mois)", "Envoyer la réponse",
                  "Clore la demande"):
        assert words in detail, words


async def test_answer_reaches_the_contract_page_and_notifies_every_active_user_of_the_company(client, new_client):
    customer_client = new_client()
    _, quote_id, customer = await _requested_quote(customer_client)
    gone = await create_user(username="acme_gone", first_name="Gone", last_name="acme", email="gone@example.com",
                             role="basic", company_id=customer.company_id)
    await User.update({User.is_active: False}).where(User.id == gone)
    await sign_in(client, "agent_r1")
    answer = "Extension de 2 ans : 149 € HT.\nRépondez-nous pour la commander."
    response = await post_form(client, f"/reseller/quotes/{quote_id}/answer", {"answer": answer})
    assert response.status_code == 303
    assert response.headers["location"] == f"/reseller/quotes/{quote_id}?saved=answered"
    shown = text_of((await client.get(response.headers["location"])).text)
    assert "Votre réponse est envoyée" in shown and "Répondu le" in shown and "Agent R1" in shown

    agent = await User.objects().where(User.username == "agent_r1").first()
    quote = await QuoteRequest.objects().where(QuoteRequest.id == quote_id).first()
    assert (quote.status, quote.answer, quote.answered_by) == ("answered", answer, agent.id)
    assert quote.answered_at is not None
    notes = await Notification.objects().where(Notification.kind == "quote_answer")
    assert sorted(n.recipient for n in notes) == sorted([customer.admin_id, customer.basic_id])
    assert {(n.title, n.quote_request) for n in notes} == {("[Devis] Contrat n°1001", quote_id)}
    assert notes[0].body.startswith("EXT-R1 — Extension de 2 ans : 149 € HT.")

    contract_page = text_of((await customer_client.get("/contracts/1001")).text)
    assert "Devis reçu" in contract_page and "149 € HT." in contract_page
    panel = text_of((await customer_client.get("/notifications/panel")).text)
    assert "[Devis] Contrat n°1001" in panel


async def test_answer_refusals_keep_the_text_and_write_nothing(client, new_client):
    _, quote_id, _ = await _requested_quote(new_client())
    await sign_in(client, "agent_r1")
    empty = await post_form(client, f"/reseller/quotes/{quote_id}/answer", {"answer": "   "})
    assert empty.status_code == 422
    assert field_error(empty.text, "answer") == "Ce champ est obligatoire."
    too_long = await post_form(client, f"/reseller/quotes/{quote_id}/answer", {"answer": "Prix " + "x" * 4000})
    assert too_long.status_code == 422
    assert field_error(too_long.text, "answer") == "4000 caractères au maximum."
    assert re.search(r'<textarea id="f-answer"[^>]*>Prix xxxx', too_long.text)
    quote = await QuoteRequest.objects().where(QuoteRequest.id == quote_id).first()
    assert (quote.status, quote.answer, quote.answered_by) == ("requested", "", None)
    assert await Notification.count().where(Notification.kind == "quote_answer") == 0


async def test_answer_in_place_with_htmx(client, new_client):
    _, quote_id, _ = await _requested_quote(new_client())
    await sign_in(client, "agent_r1")
    response = await client.post(f"/reseller/quotes/{quote_id}/answer", data={"answer": "Offert !"},
                                  headers={**HTMX, "x-csrftoken": client.cookies["csrftoken"]})
    assert response.status_code == 200
    assert _only_panel(response.text, "quotes-panel")
    assert "Votre réponse est envoyée" in text_of(response.text) and "Offert !" in response.text
    refused = await client.post(f"/reseller/quotes/{quote_id}/answer", data={"answer": ""},
                                headers={**HTMX, "x-csrftoken": client.cookies["csrftoken"]})
    assert refused.status_code == 422 and _only_panel(refused.text, "quotes-panel")


async def test_closing_a_request_ends_it_and_lets_the_customer_ask_again(client, new_client):
    customer_client = new_client()
    _, quote_id, _ = await _requested_quote(customer_client)
    await sign_in(client, "agent_r1")
    response = await post_form(client, f"/reseller/quotes/{quote_id}/close")
    assert response.status_code == 303
    page = text_of((await client.get(response.headers["location"])).text)
    assert "La demande est close." in page and "Cette demande est close." in page
    assert "Envoyer la réponse" not in page
    assert (await QuoteRequest.objects().where(QuoteRequest.id == quote_id).first()).status == "closed"
    late = await post_form(client, f"/reseller/quotes/{quote_id}/answer", {"answer": "Trop tard"})
    assert late.status_code == 422 and "ne peut plus recevoir de réponse" in text_of(late.text)
    again = await post_form(client, f"/reseller/quotes/{quote_id}/close")
    assert again.status_code == 422 and "déjà close" in text_of(again.text)
    quote = await QuoteRequest.objects().where(QuoteRequest.id == quote_id).first()
    assert (quote.status, quote.answer) == ("closed", "")
    assert await Notification.count().where(Notification.kind == "quote_answer") == 0
    listing = text_of((await client.get("/reseller/quotes", params={"status": "closed"})).text)
    assert "Clos" in listing and "EXT-R1" in listing

    contract_page = (await customer_client.get("/contracts/1001")).text
    assert "Clos" in text_of(contract_page) and "Demander un devis" in contract_page


async def test_another_resellers_quote_is_404_and_untouched(client, new_client):
    _, quote_id, _ = await _requested_quote(new_client())
    await make_reseller("R2", agent="agent_r2")
    await sign_in(client, "agent_r2")
    assert (await client.get(f"/reseller/quotes/{quote_id}")).status_code == 404
    assert (await post_form(client, f"/reseller/quotes/{quote_id}/answer", {"answer": "Hop"})).status_code == 404
    assert (await post_form(client, f"/reseller/quotes/{quote_id}/close")).status_code == 404
    assert (await client.get("/reseller/quotes/999999")).status_code == 404
    assert "EXT-R1" not in (await client.get("/reseller/quotes")).text
    quote = await QuoteRequest.objects().where(QuoteRequest.id == quote_id).first()
    assert (quote.status, quote.answer) == ("requested", "")


def _routes_under(app, prefix: str) -> list[tuple[str, str]]:
    return sorted({(method, route.path) for route in app.routes if isinstance(route, HTTPRoute)
                   and route.path.startswith(prefix) for handler in route.route_handlers
                   for method in handler.http_methods if method in ("GET", "POST")})


async def test_a_customer_gets_404_on_every_devis_url(app, client, new_client):
    customer_client = new_client()
    _, quote_id, _ = await _requested_quote(customer_client)
    routes = _routes_under(app, "/reseller/quotes")
    assert len(routes) == 4, routes
    for method, path in routes:
        url = re.sub(r"\{\w+:int\}", str(quote_id), path)
        response = await (customer_client.get(url) if method == "GET" else post_form(customer_client, url, {}))
        assert response.status_code == 404, (method, url)
    assert (await client.get("/reseller/quotes")).headers["location"].startswith("/login")
    assert (await QuoteRequest.objects().where(QuoteRequest.id == quote_id).first()).status == "requested"
