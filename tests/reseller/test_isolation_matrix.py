"""Every /reseller route, from the app's route table, for four actors against objects of reseller A.

A route added later without a row in ROUTES fails this test, so none can forget its checks.
Expected outcomes: a customer gets 404 everywhere; a user of another reseller gets 404 on A's
objects; an agent gets 403 on administrator-only routes (whatever the object, so nothing leaks).
"""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from app.accounts.services import create_user
from app.db.tables import Attachment, ExtensionOffer, Incident, QuoteRequest, User
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import DEFAULT_PASSWORD, post_form, sign_in

OK = "ok"  # allowed: 2xx, 3xx, or 422 for the empty forms this test sends
LIST = {"agent_a": OK, "agent_b": OK, "admin_b": OK, "customer": 404}
OBJECT = {"agent_a": OK, "agent_b": 404, "admin_b": 404, "customer": 404}
ADMIN_OBJECT = {"agent_a": 403, "agent_b": 403, "admin_b": 404, "customer": 404}
ADMIN_ANY = {"agent_a": 403, "agent_b": 403, "admin_b": OK, "customer": 404}

ROUTES: dict[tuple[str, str], dict[str, object]] = {
    ("GET", "/reseller"): LIST,
    ("GET", "/reseller/incidents"): LIST,
    ("GET", "/reseller/incidents/{number:str}"): OBJECT,
    ("GET", "/reseller/incidents/{number:str}/{tab:str}"): OBJECT,
    ("GET", "/reseller/incidents/{number:str}/attachments/{attachment_id:int}"): OBJECT,
    ("POST", "/reseller/incidents/{number:str}/reply"): OBJECT,
    ("POST", "/reseller/incidents/{number:str}/note"): OBJECT,
    ("POST", "/reseller/incidents/{number:str}/status"): OBJECT,
    ("POST", "/reseller/incidents/{number:str}/assign"): OBJECT,
    ("POST", "/reseller/incidents/{number:str}/attachments"): OBJECT,
    # the customer's own file: a reseller user removes only what they uploaded themselves
    ("POST", "/reseller/incidents/{number:str}/attachments/{attachment_id:int}/delete"): {**OBJECT, "agent_a": 403},
    ("GET", "/reseller/contracts"): LIST,
    ("GET", "/reseller/contracts/{number:str}"): OBJECT,
    ("GET", "/reseller/contracts/new"): ADMIN_ANY,
    ("POST", "/reseller/contracts"): ADMIN_ANY,
    ("GET", "/reseller/contracts/{number:str}/edit"): ADMIN_OBJECT,
    ("POST", "/reseller/contracts/{number:str}"): ADMIN_OBJECT,
    ("GET", "/reseller/contracts/article-row"): ADMIN_ANY,
    ("GET", "/reseller/contracts/article-row/removed"): ADMIN_ANY,
    ("GET", "/reseller/contracts/import"): ADMIN_ANY,
    ("POST", "/reseller/contracts/import"): ADMIN_ANY,
    ("POST", "/reseller/contracts/import/commit"): ADMIN_ANY,
    ("GET", "/reseller/contracts/import/template.csv"): ADMIN_ANY,
    ("GET", "/reseller/clients"): LIST,
    ("GET", "/reseller/clients/{company_id:int}"): OBJECT,
    ("GET", "/reseller/clients/{company_id:int}/incidents"): OBJECT,
    ("GET", "/reseller/quotes"): LIST,
    ("GET", "/reseller/quotes/{quote_id:int}"): OBJECT,
    ("POST", "/reseller/quotes/{quote_id:int}/answer"): OBJECT,
    ("POST", "/reseller/quotes/{quote_id:int}/close"): OBJECT,
    ("GET", "/reseller/extensions"): LIST,
    ("GET", "/reseller/extensions/new"): ADMIN_ANY,
    ("POST", "/reseller/extensions"): ADMIN_ANY,
    ("GET", "/reseller/extensions/{offer_id:int}"): ADMIN_OBJECT,
    ("POST", "/reseller/extensions/{offer_id:int}"): ADMIN_OBJECT,
    ("POST", "/reseller/extensions/{offer_id:int}/retire"): ADMIN_OBJECT,
    ("POST", "/reseller/extensions/{offer_id:int}/reactivate"): ADMIN_OBJECT,
    ("GET", "/reseller/team"): LIST,
    ("GET", "/reseller/team/new"): ADMIN_ANY,
    ("POST", "/reseller/team"): ADMIN_ANY,
    ("GET", "/reseller/team/{user_id:int}"): ADMIN_OBJECT,
    ("POST", "/reseller/team/{user_id:int}"): ADMIN_OBJECT,
    ("POST", "/reseller/team/{user_id:int}/deactivate"): ADMIN_OBJECT,
    ("POST", "/reseller/team/{user_id:int}/reactivate"): ADMIN_OBJECT,
    ("POST", "/reseller/team/{user_id:int}/invitation"): ADMIN_OBJECT,
}


def reseller_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/reseller"):
            for handler in route.route_handlers:
                found.update((m, route.path) for m in handler.http_methods if m not in ("OPTIONS", "HEAD"))
    return found


async def test_every_reseller_route_is_in_the_matrix(app):
    assert reseller_routes(app) == set(ROUTES), reseller_routes(app) ^ set(ROUTES)


async def test_isolation_of_every_reseller_route(app, new_client):
    reseller_a = await make_reseller("RA", agent="agent_a")
    reseller_b = await make_reseller("RB", agent="agent_b")
    await create_user(username="admin_b", first_name="Admin", last_name="B", email="admin_b@example.com",
                      role="admin", reseller_id=reseller_b, password=DEFAULT_PASSWORD)
    await make_contract(reseller_a, "A-1001", "NASA0001")
    customer = await make_customer("acme", serial="NASA0001")
    offer = (await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_a, code="EXT-A", label="Extension A", duration_months=24,
        product_references=["TS-131K-1TIW"])).returning(ExtensionOffer.id))[0]["id"]
    buyer = new_client("198.51.100.50")
    await sign_in(buyer, "acme_admin")
    number = await declare(buyer, "A-1001")
    await post_form(buyer, "/contracts/A-1001/quotes", {"offer": str(offer)})
    await buyer.post(f"/incidents/{number}/attachments", files={"file": ("a.txt", b"x", "text/plain")},
                     headers={"x-csrftoken": buyer.cookies["csrftoken"], "HX-Request": "true"})
    incident = await Incident.objects().where(Incident.number == number).first()
    values = {
        "number": number, "tab": "messages",
        "attachment_id": (await Attachment.objects().where(Attachment.incident == incident.id).first()).id,
        "company_id": customer.company_id,
        "quote_id": (await QuoteRequest.objects().first()).id,
        "offer_id": offer,
        "user_id": (await User.objects().where(User.username == "agent_a").first()).id,
    }

    failures = []
    for actor in ("customer", "agent_b", "admin_b", "agent_a"):  # A's own agent last: it may change things
        http = new_client(f"198.51.100.{60 + len(failures)}")
        await sign_in(http, {"customer": "acme_admin"}.get(actor, actor))
        for (method, path), expected_by_actor in sorted(ROUTES.items()):
            url = re.sub(r"\{(\w+):\w+\}", lambda m: str(values[m.group(1)] if m.group(1) != "number"
                                                         or not path.startswith("/reseller/contracts")
                                                         else "A-1001"), path)
            response = await (http.get(url) if method == "GET" else post_form(http, url, {}))
            expected = expected_by_actor[actor]
            allowed = response.status_code < 400 or response.status_code == 422
            if (expected == OK and not allowed) or (expected != OK and response.status_code != expected):
                failures.append(f"{actor} {method} {url}: {response.status_code}, expected {expected}")
    assert not failures, "\n".join(failures)
