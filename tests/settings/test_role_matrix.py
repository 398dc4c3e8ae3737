"""A Basique user changes nothing but their own profile and password, whatever the request.

The routes come from the app's own route table: a write route added later without a row in
EXPECTED fails this test, so no new route can forget its role check.
"""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from app.db.tables import Attachment, Incident
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare, start
from tests.support import post_form, sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Routes of the public and account pages: not part of the customer area, exercised in tests/accounts.
PUBLIC = {"/login", "/register", "/password/forgot", "/password/reset/{token:str}"}

# (method, path) → status a Basique user gets on objects of their own company.
EXPECTED: dict[tuple[str, str], int] = {
    ("POST", "/logout"): 303,
    ("POST", "/notifications/{notification_id:int}/open"): 303,  # their own notification: allowed
    ("POST", "/notifications/read"): 303,  # their own notifications: allowed
    ("POST", "/settings/profile"): 422,  # allowed: refused here only because the form is empty
    ("POST", "/settings/password"): 422,  # allowed: refused here only because the form is empty
    ("POST", "/settings/company"): 403,
    ("POST", "/settings/users"): 403,
    ("POST", "/settings/users/{user_id:int}"): 403,
    ("POST", "/settings/users/{user_id:int}/deactivate"): 403,
    ("POST", "/settings/users/{user_id:int}/reactivate"): 403,
    ("POST", "/settings/users/{user_id:int}/invitation"): 403,
    ("POST", "/settings/addresses"): 403,
    ("POST", "/settings/addresses/{address_id:int}"): 403,
    ("POST", "/settings/addresses/{address_id:int}/archive"): 403,
    ("POST", "/settings/addresses/{address_id:int}/default"): 403,
    ("POST", "/contracts/activate"): 403,
    ("POST", "/contracts/{number:str}/quotes"): 403,
    ("POST", "/contracts/{number:str}/incidents"): 403,
    ("POST", "/incidents/drafts/{draft_id:int}/{step:str}"): 403,
    ("POST", "/incidents/drafts/{draft_id:int}/submit"): 403,
    ("POST", "/incidents/drafts/{draft_id:int}/attachments"): 403,
    ("POST", "/incidents/drafts/{draft_id:int}/attachments/{attachment_id:int}/delete"): 403,
    ("POST", "/incidents/{number:str}/messages"): 403,
    ("POST", "/incidents/{number:str}/attachments"): 403,
    ("POST", "/incidents/{number:str}/attachments/{attachment_id:int}/delete"): 403,
}


def customer_write_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path in PUBLIC or route.path.startswith("/reseller"):
            continue
        for handler in route.route_handlers:
            routes.update((method, route.path) for method in handler.http_methods if method in UNSAFE)
    return routes


async def _snapshot() -> dict[str, str]:
    """A fingerprint of every business table (sessions, audit and rate-limit rows excluded)."""
    rows = await Incident.raw(
        """SELECT tablename FROM pg_tables WHERE schemaname = 'public'
           AND tablename NOT IN ('migration', 'user_session', 'audit_event', 'rate_limit_hit')"""
    )
    fingerprint = {}
    for row in rows:
        name = row["tablename"]
        result = await Incident.raw(f'SELECT md5(coalesce(string_agg(t::text, \',\' ORDER BY t::text), \'\')) AS h '
                                    f'FROM "{name}" t')
        fingerprint[name] = result[0]["h"]
    return fingerprint


async def test_every_customer_write_route_is_in_the_matrix(app):
    assert customer_write_routes(app) == set(EXPECTED), (
        "a customer write route is missing from EXPECTED (or was removed): "
        f"{customer_write_routes(app) ^ set(EXPECTED)}")


async def test_basic_user_gets_403_on_every_write_but_their_own_profile(app, client, new_client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    customer = await make_customer("acme", serial="NAS0001")
    admin = new_client()
    await sign_in(admin, "acme_admin")
    number = await declare(admin, "1001")
    await admin.post(f"/incidents/{number}/attachments", files={"file": ("a.txt", b"x", "text/plain")},
                     headers={"x-csrftoken": admin.cookies["csrftoken"], "HX-Request": "true"})
    draft = await start(admin, "1001")
    await admin.post(f"/incidents/drafts/{draft}/attachments", files={"file": ("b.txt", b"y", "text/plain")},
                     headers={"x-csrftoken": admin.cookies["csrftoken"], "HX-Request": "true"})
    incident = await Incident.objects().where(Incident.number == number).first()
    incident_file = await Attachment.objects().where(Attachment.incident == incident.id).first()
    draft_file = await Attachment.objects().where(Attachment.incident == draft).first()
    from app.db.tables import DeliveryAddress

    address = await DeliveryAddress.objects().first()
    from app.notifications.services import notify

    [notification_id] = await notify([customer.basic_id], kind="new_status", title="[Nouveau statut]",
                                     incident_id=incident.id)
    values = {"user_id": customer.admin_id, "address_id": address.id, "draft_id": draft, "step": "declaration",
              "notification_id": notification_id}

    await sign_in(client, "acme_basic")
    before = await _snapshot()
    logout = None
    for method, path in sorted(EXPECTED):
        if path == "/logout":
            logout = (method, path)
            continue
        url = _fill(path, values, contract=number if path.startswith("/incidents/{") else "1001",
                    incident_file=incident_file.id, draft_file=draft_file.id)
        response = await post_form(client, url, {})
        assert response.status_code == EXPECTED[(method, path)], (method, url, response.status_code)
        if response.status_code == 403:
            assert "Action non autorisée" in response.text
    after = await _snapshot()
    after.pop("notification"), before.pop("notification")  # reading their own notifications is allowed
    assert after == before, "a refused write changed the database"
    assert (await post_form(client, logout[1])).status_code == EXPECTED[logout]


def _fill(path: str, values: dict, *, contract: str, incident_file: int, draft_file: int) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name == "number":
            return contract
        if name == "attachment_id":
            return str(draft_file if path.startswith("/incidents/drafts") else incident_file)
        return str(values[name])

    return re.sub(r"\{(\w+):\w+\}", replace, path)
