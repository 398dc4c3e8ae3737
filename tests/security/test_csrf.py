"""CSRF on every unsafe route of the app (ASVS V4.2.2, V13.2.3), from its route table.

Each unsafe route is posted by the signed-in user who may use it (company A's administrator, or
A's reseller's administrator or agent for the reseller's routes), with the valid form of
tests/security/test_route_matrix.py, in three forged ways: no token at all, the token of another
browser, and an htmx request without its header. Each must get the "Formulaire expiré" page (403),
be logged as every refusal is, and change nothing in the database — sessions included, so a
forged sign-out does not sign anyone out.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx

from app.db.tables import Incident
from app.web.log_filters import mask_link_tokens
from tests.security.test_route_matrix import FORMS, ROUTES, SIGN_IN, World, app_routes, build_world, urls_of

SAFE = ("GET", "HEAD", "OPTIONS")
OWNERS = ("admin_a", "radmin_a", "agent_a")  # first one the route lets through


def owner_of(route: tuple[str, str]) -> str:
    outcomes = ROUTES.get(route, {})
    return next((actor for actor in OWNERS if outcomes.get(actor) not in (403, 404, SIGN_IN)), "admin_a")


async def fingerprint() -> dict[str, str]:
    """A digest of every table; for sessions, which exist and whose they are (not when last seen)."""
    rows = await Incident.raw("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migration'")
    digests = {}
    for name in sorted(row["tablename"] for row in rows):
        rows_as_text = ("concat_ws(',', t.id, t.token_hash, t.\"user\")" if name == "user_session" else "t::text")
        result = await Incident.raw(f"SELECT md5(coalesce(string_agg({rows_as_text}, ';' ORDER BY {rows_as_text}), '')) "
                                    f'AS h FROM "{name}" t')
        digests[name] = result[0]["h"]
    return digests


def forged_posts(world: World, http: httpx.AsyncClient, form: dict[str, str]) -> dict[str, dict]:
    """The same form three ways (as `post` arguments), none with this browser's own token."""
    urlencoded = {"content-type": "application/x-www-form-urlencoded"}
    someone_elses = world.clients["anonymous"].cookies["csrftoken"]
    assert someone_elses != http.cookies["csrftoken"]
    return {
        "no token": {"content": urlencode(form), "headers": urlencoded},
        "another browser's token": {"content": urlencode({"_csrf_token": someone_elses, **form}),
                                    "headers": urlencoded},
        "htmx without its header": {"content": urlencode(form), "headers": {**urlencoded, "HX-Request": "true"}},
    }


async def test_every_unsafe_route_refuses_a_post_without_its_csrf_token(app, new_client, caplog):
    caplog.set_level(logging.INFO, logger="app.web.errors")
    world = await build_world(new_client)
    await world.clients["anonymous"].get("/login")  # its own CSRF cookie, "another browser's token"
    unsafe = sorted((route for route in app_routes(app) if route[0] not in SAFE),
                    key=lambda route: (route == ("POST", "/logout"), route))
    assert len(unsafe) >= 50  # every POST of the app (50 when this was written)
    before = await fingerprint()
    failures: list[str] = []
    for method, path in unsafe:
        actor = owner_of((method, path))
        http = world.clients[actor]
        form = {name: value.format(**world.ids) for name, value in FORMS.get((method, path), {}).items()}
        for url in urls_of(method, path, world):
            for way, request in forged_posts(world, http, form).items():
                caplog.clear()
                response = await http.post(url, **request)
                cell = f"{actor} {method} {url} ({way})"
                if response.status_code != 403 or "Formulaire expiré" not in response.text:
                    failures.append(f"{cell}: {response.status_code} {response.headers.get('location', '')}")
                logged = [r.getMessage() for r in caplog.records if r.name == "app.web.errors"]
                wanted = f"403 {method} {mask_link_tokens(url)} user={world.user_ids[actor]}"
                if not any(line.startswith(wanted) for line in logged):
                    failures.append(f"{cell}: refusal not logged (got {logged})")
    assert not failures, "\n".join(failures)
    after = await fingerprint()
    assert sorted(table for table in after if after[table] != before[table]) == []
    for actor in OWNERS:  # still signed in: the forged sign-outs did nothing
        home = await world.clients[actor].get("/")
        assert home.headers["location"] in ("/contracts", "/reseller"), actor


async def test_a_path_that_merely_contains_an_excluded_one_is_still_checked(client):
    """The CSRF exclusions are regular expressions searched in the path: a contract numbered
    `healthz-1` must not open its routes to forged posts."""
    from tests.factories import make_contract, make_customer, make_reseller
    from tests.support import sign_in

    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "healthz-1", "NAS0001")
    await make_contract(reseller_id, "notifications-stream", "NAS0002")
    customer = await make_customer("acme", serial="NAS0001")
    from app.contracts.services import claim_contract

    async with Incident._meta.db.transaction():
        await claim_contract(customer.company_id, customer.admin_id, "NAS0002")
    await sign_in(client, "acme_admin")
    for number in ("healthz-1", "notifications-stream"):
        forged = await client.post(f"/contracts/{number}/incidents", data={})
        assert forged.status_code == 403, (number, forged.status_code)
    assert await Incident.count() == 0
    assert (await client.post("/healthz")).status_code == 405  # the exclusions themselves: GET only
