"""Équipe (SPEC §4, issue 7): the reseller's users — invitation by e-mail, type, deactivation."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from app.accounts.services import create_user
from app.db.tables import User, UserSession, UserToken
from tests.factories import make_customer, make_reseller
from tests.support import DEFAULT_PASSWORD, field_error, field_value, link_in, outbox, post_form, sign_in, text_of

NEW_AGENT = {"first_name": "Paul", "last_name": "Girard", "role": "agent", "email": "paul@r1.example",
             "phone": "", "username": "paul.girard"}


def _only_panel(page: str, panel: str) -> bool:
    """An htmx answer: the panel alone (perhaps with the page's <title>), not a whole page."""
    return f'<div id="{panel}"' in page and "<html" not in page and "<main" not in page


async def _reseller_with_admin(code: str = "R1") -> tuple[int, int]:
    """A reseller with an agent `agent_<code>` and an administrator `admin_<code>`: (reseller, admin)."""
    reseller_id = await make_reseller(code, agent=f"agent_{code.lower()}")
    admin_id = await create_user(username=f"admin_{code.lower()}", first_name="Alice", last_name=f"Admin{code}",
                                 email=f"admin_{code.lower()}@example.com", role="admin",
                                 reseller_id=reseller_id, password=DEFAULT_PASSWORD)
    return reseller_id, admin_id


async def _user(username: str) -> User:
    return await User.objects().where(User.username == username).first()


async def test_team_lists_name_first_name_type_and_username(client, new_client):
    await _reseller_with_admin("R1")
    await _reseller_with_admin("R2")
    await sign_in(client, "admin_r1")
    page = text_of((await client.get("/reseller/team")).text)
    assert "Nom Prénom Type Identifiant" in page
    assert "AdminR1 Alice Administrateur admin_r1" in page and "R1 Agent Agent agent_r1" in page
    assert "Nouvel utilisateur" in page and "Modifier Agent R1" in page
    assert "r2" not in page.lower()
    fragment = await client.get("/reseller/team", headers={"HX-Request": "true", "HX-Target": "team-panel"})
    assert _only_panel(fragment.text, "team-panel")
    agent = new_client()
    await sign_in(agent, "agent_r1")
    seen = text_of((await agent.get("/reseller/team")).text)
    assert "admin_r1" in seen and "Nouvel utilisateur" not in seen and "Modifier" not in seen


async def test_new_team_member_is_invited_by_email_chooses_a_password_and_signs_in(client, new_client):
    reseller_id, _ = await _reseller_with_admin()
    await sign_in(client, "admin_r1")
    assert "Nouvel utilisateur" in text_of((await client.get("/reseller/team/new")).text)
    response = await post_form(client, "/reseller/team", NEW_AGENT)
    assert response.status_code == 303
    assert response.headers["location"] == "/reseller/team?saved=invited"
    paul = await _user("paul.girard")
    assert (paul.role, paul.reseller, paul.company, paul.password_hash) == ("agent", reseller_id, None, None)
    listing = text_of((await client.get(response.headers["location"])).text)
    assert "il a reçu un e-mail" in listing and "Girard Paul Agent paul.girard" in listing
    assert "Invitation envoyée" in listing
    [message] = outbox()
    assert message["To"] == "paul@r1.example"
    body = message.get_payload(decode=True).decode()
    assert "Revendeur R1" in body and "« paul.girard »" in body
    path = link_in(message).split("testserver", 1)[1]
    invited = new_client()
    assert "Bienvenue : choisissez votre mot de passe" in text_of((await invited.get(path)).text)
    chosen = await post_form(invited, path, {"password": "paul's own passphrase",
                                             "password_confirm": "paul's own passphrase"})
    assert chosen.status_code == 303
    assert (await sign_in(invited, "paul.girard", "paul's own passphrase")).status_code == 303
    assert (await invited.get("/")).headers["location"] == "/reseller"
    assert (await invited.get("/reseller/quotes")).status_code == 200
    assert (await invited.get("/reseller/team/new")).status_code == 403  # an agent


async def test_new_team_member_refusals_keep_values_and_write_nothing(client):
    await _reseller_with_admin()
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/team", {**NEW_AGENT, "first_name": "", "role": "basic",
                                                          "email": "paul", "username": "AGENT_R1"})
    assert response.status_code == 422
    assert field_error(response.text, "first_name") == "Ce champ est obligatoire."
    assert field_error(response.text, "role") == "Choisissez Administrateur ou Agent."
    assert field_error(response.text, "email").startswith("Adresse e-mail invalide")
    assert "déjà utilisé" in field_error(response.text, "username")
    assert field_value(response.text, "last_name") == "Girard" and field_value(response.text, "email") == "paul"
    assert await User.count() == 2 and outbox() == []


async def test_resend_invitation_replaces_the_link(client):
    await _reseller_with_admin()
    await sign_in(client, "admin_r1")
    await post_form(client, "/reseller/team", NEW_AGENT)
    paul = await _user("paul.girard")
    first = link_in(outbox()[-1])
    assert "Renvoyer l'invitation" in text_of((await client.get(f"/reseller/team/{paul.id}")).text)
    assert (await post_form(client, f"/reseller/team/{paul.id}/invitation")).status_code == 303
    second = link_in(outbox()[-1])
    assert first != second
    assert (await client.get(first.split("testserver", 1)[1])).status_code == 410
    agent = await _user("agent_r1")
    refused = await post_form(client, f"/reseller/team/{agent.id}/invitation")
    assert refused.status_code == 422 and "déjà choisi son mot de passe" in text_of(refused.text)
    assert await UserToken.count().where(UserToken.user == agent.id) == 0


async def test_change_type_and_keep_the_last_active_administrator(client):
    _, admin_id = await _reseller_with_admin()
    agent = await _user("agent_r1")
    await sign_in(client, "admin_r1")
    values = {"first_name": "Alice", "last_name": "AdminR1", "email": "admin_r1@example.com", "phone": "",
              "username": "admin_r1"}
    demote = await post_form(client, f"/reseller/team/{admin_id}", {**values, "role": "agent"})
    assert demote.status_code == 422
    assert field_error(demote.text, "role") == "L'équipe doit garder au moins un administrateur actif."
    deactivate = await post_form(client, f"/reseller/team/{admin_id}/deactivate")
    assert deactivate.status_code == 422
    assert "L'équipe doit garder au moins un administrateur actif." in text_of(deactivate.text)
    assert ((await _user("admin_r1")).role, (await _user("admin_r1")).is_active) == ("admin", True)

    form = (await client.get(f"/reseller/team/{agent.id}")).text
    assert field_value(form, "username") == "agent_r1"
    promote = await post_form(client, f"/reseller/team/{agent.id}", {
        "first_name": "Agent", "last_name": "R1", "email": "agent_r1@example.com", "username": "agent_r1",
        "role": "admin"})
    assert promote.headers["location"] == "/reseller/team?saved=updated"
    assert (await _user("agent_r1")).role == "admin"
    # With a second administrator, the first may step down.
    assert (await post_form(client, f"/reseller/team/{admin_id}", {**values, "role": "agent"})).status_code == 303
    assert (await _user("admin_r1")).role == "agent"


async def test_a_deactivated_team_member_is_signed_out_at_once(client, new_client):
    await _reseller_with_admin()
    agent = await _user("agent_r1")
    agent_client = new_client()
    await sign_in(agent_client, "agent_r1")
    assert (await agent_client.get("/reseller/quotes")).status_code == 200
    await sign_in(client, "admin_r1")
    response = await post_form(client, f"/reseller/team/{agent.id}/deactivate")
    assert response.headers["location"] == "/reseller/team?saved=deactivated"
    assert (await agent_client.get("/reseller/quotes")).headers["location"].startswith("/login")
    assert await UserSession.count().where(UserSession.user == agent.id) == 0
    assert (await sign_in(new_client(), "agent_r1")).status_code == 422
    assert "Désactivé" in text_of((await client.get("/reseller/team")).text)
    assert (await post_form(client, f"/reseller/team/{agent.id}/reactivate")).status_code == 303
    assert (await sign_in(new_client(), "agent_r1")).status_code == 303


async def test_saving_with_htmx_answers_the_team_in_place(client):
    await _reseller_with_admin()
    await sign_in(client, "admin_r1")
    headers = {"HX-Request": "true", "HX-Target": "team-panel", "x-csrftoken": client.cookies["csrftoken"]}
    response = await client.post("/reseller/team", data=NEW_AGENT, headers=headers)
    assert response.status_code == 200 and _only_panel(response.text, "team-panel")
    assert "paul.girard" in response.text and response.headers["hx-push-url"] == "/reseller/team"
    refused = await client.post("/reseller/team", data=NEW_AGENT, headers=headers)
    assert refused.status_code == 422 and "déjà utilisé" in field_error(refused.text, "username")


async def test_an_agent_reads_the_team_but_gets_403_on_every_write(client):
    _, admin_id = await _reseller_with_admin()
    await sign_in(client, "agent_r1")
    assert (await client.get("/reseller/team")).status_code == 200
    for url in ("/reseller/team/new", f"/reseller/team/{admin_id}"):
        assert (await client.get(url)).status_code == 403, url
    for url in ("/reseller/team", f"/reseller/team/{admin_id}", f"/reseller/team/{admin_id}/deactivate",
                f"/reseller/team/{admin_id}/reactivate", f"/reseller/team/{admin_id}/invitation"):
        response = await post_form(client, url, {**NEW_AGENT, "username": "admin_r1", "role": "agent"})
        assert response.status_code == 403, url
        assert "Action non autorisée" in response.text
    admin = await User.objects().where(User.id == admin_id).first()
    assert (admin.role, admin.is_active) == ("admin", True) and await User.count() == 2 and outbox() == []


async def test_another_resellers_user_is_404_and_untouched(client):
    await _reseller_with_admin("R1")
    await _reseller_with_admin("R2")
    rival = await _user("agent_r2")
    await sign_in(client, "admin_r1")
    assert (await client.get(f"/reseller/team/{rival.id}")).status_code == 404
    for suffix in ("", "/deactivate", "/invitation"):
        response = await post_form(client, f"/reseller/team/{rival.id}{suffix}", {**NEW_AGENT, "role": "admin"})
        assert response.status_code == 404, suffix
    after = await _user("agent_r2")
    assert (after.role, after.is_active, after.first_name) == ("agent", True, "Agent")


async def test_a_customer_gets_404_on_every_team_url_and_cannot_reach_reseller_users(app, client):
    _, admin_id = await _reseller_with_admin()
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    routes = sorted({(method, route.path) for route in app.routes if isinstance(route, HTTPRoute)
                     and route.path.startswith("/reseller/team") for handler in route.route_handlers
                     for method in handler.http_methods if method in ("GET", "POST")})
    assert len(routes) == 8, routes
    for method, path in routes:
        url = re.sub(r"\{\w+:int\}", str(admin_id), path)
        response = await (client.get(url) if method == "GET" else post_form(client, url, NEW_AGENT))
        assert response.status_code == 404, (method, url)
    # The shared user rules keep each side to its own users.
    assert (await client.get(f"/settings/users/{admin_id}")).status_code == 404
    assert (await post_form(client, f"/settings/users/{admin_id}/deactivate")).status_code == 404
    assert (await _user("admin_r1")).is_active and await User.count() == 4 and outbox() == []
