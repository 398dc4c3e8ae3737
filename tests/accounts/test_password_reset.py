"""Mot de passe oublié: one answer for everyone, a single-use link valid one hour, stored hashed.

Choosing the new password ends every session of the user.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from datetime import datetime, timedelta, timezone

import httpx
import uvicorn

from app.db.tables import RateLimitHit, User, UserSession, UserToken
from tests.factories import make_customer
from tests.support import DEFAULT_PASSWORD, body_of, field_error, link_in, outbox, post_form, sign_in, text_of

NEW_PASSWORD = "un tout nouveau mot de passe"
GONE = "Ce lien n'est plus valable"


async def request_link(client, identifier: str):
    return await post_form(client, "/password/forgot", {"identifier": identifier})


async def reset_path(client, identifier: str = "acme_admin") -> str:
    """Ask for a link as the user would, and return its path from the newest e-mail."""
    before = len(outbox())
    response = await request_link(client, identifier)
    assert response.status_code == 200
    messages = outbox()
    assert len(messages) == before + 1
    link = link_in(messages[-1])
    assert link.startswith("http://testserver/password/reset/")
    return link.removeprefix("http://testserver")


async def choose(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return await post_form(client, path, {"password": password,
                                          "password_confirm": password if confirm is None else confirm})


# --- asking for a link ---------------------------------------------------------------------------


async def test_forgot_form_asks_for_username_or_email(client):
    page = await client.get("/password/forgot")
    assert page.status_code == 200
    assert "Identifiant ou email" in text_of(page.text)


async def test_forgot_gives_the_same_answer_whether_or_not_the_account_exists(client):
    await make_customer("acme")
    by_username = await request_link(client, "acme_admin")
    by_email = await request_link(client, "acme_admin@example.com")
    unknown = await request_link(client, "nobody@nowhere.example")
    for response in (by_username, by_email, unknown):
        assert response.status_code == 200
        assert "Si un compte correspond" in text_of(response.text)
    assert text_of(by_username.text) == text_of(by_email.text) == text_of(unknown.text)
    messages = outbox()
    assert len(messages) == 2  # only the existing account got e-mails
    assert {m["To"] for m in messages} == {"acme_admin@example.com"}
    assert await UserToken.count() == 2


async def test_forgot_matches_username_and_email_without_case(client):
    await make_customer("acme")
    await request_link(client, "ACME_ADMIN")
    await request_link(client, "Acme_Admin@Example.COM")
    assert len(outbox()) == 2


async def test_forgot_sends_nothing_for_an_inactive_account(client):
    customer = await make_customer("acme")
    await User.update({User.is_active: False}).where(User.id == customer.admin_id)
    response = await request_link(client, "acme_admin")
    assert response.status_code == 200
    assert "Si un compte correspond" in text_of(response.text)
    assert outbox() == []
    assert await UserToken.count() == 0


async def test_forgot_with_an_empty_identifier_is_refused_beside_the_field(client):
    response = await request_link(client, "   ")
    assert response.status_code == 422
    assert field_error(response.text, "identifier") == "Ce champ est obligatoire."
    assert outbox() == []


async def test_reset_email_names_the_account_and_links_to_the_form(client):
    await make_customer("acme")
    await reset_path(client)
    message = outbox()[0]
    assert message["To"] == "acme_admin@example.com"
    assert "mot de passe" in message["Subject"].lower()
    body = message.get_payload(decode=True).decode()
    assert "acme_admin" in body


# --- the link ------------------------------------------------------------------------------------


async def test_link_from_the_email_opens_the_choose_a_password_form(client):
    await make_customer("acme")
    path = await reset_path(client)
    page = await client.get(path)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Choisir un nouveau mot de passe" in text
    assert "acme_admin" in text
    assert 'name="password"' in page.text and 'name="password_confirm"' in page.text
    # the token is in the URL: it must not leak through the Referer nor stay in a cache
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in page.headers["cache-control"]


async def test_token_is_stored_hashed(client):
    await make_customer("acme")
    path = await reset_path(client)
    raw = path.rsplit("/", 1)[1]
    assert len(raw) >= 32
    rows = await UserToken.raw("SELECT * FROM user_token")
    assert len(rows) == 1
    for value in rows[0].values():
        assert raw not in str(value)
    assert rows[0]["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert rows[0]["kind"] == "reset"
    lifetime = rows[0]["expires_at"] - rows[0]["created_at"]
    assert timedelta(minutes=59) <= lifetime <= timedelta(hours=1, seconds=5)


async def test_new_password_works_and_the_old_one_no_longer_does(client, new_client):
    customer = await make_customer("acme")
    path = await reset_path(client)
    response = await choose(client, path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?password=changed"
    notice = await client.get(response.headers["location"])
    assert "Votre mot de passe est enregistré" in text_of(notice.text)

    browser = new_client()
    assert (await sign_in(browser, "acme_admin", DEFAULT_PASSWORD)).status_code == 422
    assert (await sign_in(browser, "acme_admin", NEW_PASSWORD)).status_code == 303
    token = await UserToken.objects().first()
    assert token.used_at is not None
    user = await User.objects().where(User.id == customer.admin_id).first()
    assert user.password_hash.startswith("$argon2id$")


async def test_choosing_a_password_ends_every_session_of_that_user(client, new_client):
    customer = await make_customer("acme")
    laptop, phone = new_client("198.51.100.1"), new_client("198.51.100.2")
    await sign_in(laptop, "acme_admin")
    await sign_in(phone, "acme_admin", remember=True)
    await sign_in(client, "acme_basic")  # another user of the company keeps their session
    assert (await laptop.get("/contracts")).status_code == 200
    elsewhere = new_client("198.51.100.3")
    path = await reset_path(elsewhere)
    assert (await choose(elsewhere, path)).status_code == 303
    for browser in (laptop, phone):
        response = await browser.get("/contracts")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    assert await UserSession.count().where(UserSession.user == customer.admin_id) == 0
    assert (await client.get("/contracts")).status_code == 200


async def test_a_reset_password_is_told_to_the_user_by_email(client):
    await make_customer("acme")
    path = await reset_path(client)
    assert (await choose(client, path, "court", "court")).status_code == 422
    assert len(outbox()) == 1  # a refused choice changed nothing: nothing to tell
    assert (await choose(client, path)).status_code == 303
    notice = outbox()[-1]
    assert (notice["To"], notice["Subject"]) == ("acme_admin@example.com", "Votre mot de passe a été changé")
    body = body_of(notice)
    assert ("Le mot de passe de l'identifiant « acme_admin » vient d'être changé par un lien "
            "« Mot de passe oublié ? ». Toutes vos sessions ont été fermées.") in body
    assert "Si vous n'êtes pas à l'origine de ce changement" in body
    assert NEW_PASSWORD not in body and path not in body


async def test_token_is_single_use(client):
    await make_customer("acme")
    path = await reset_path(client)
    assert (await choose(client, path)).status_code == 303
    again = await client.get(path)
    assert again.status_code == 410
    assert GONE in text_of(again.text)
    reused = await choose(client, path, "encore un autre mot de passe")
    assert reused.status_code == 410
    assert GONE in text_of(reused.text)
    assert (await sign_in(client, "acme_admin", "encore un autre mot de passe")).status_code == 422
    assert (await sign_in(client, "acme_admin", NEW_PASSWORD)).status_code == 303


async def test_a_link_used_twice_at_the_same_moment_sets_one_password(client):
    """The password is hashed before the transaction; the token is re-checked under lock there."""
    from app.accounts.services import choose_password
    from app.errors import ValidationFailed

    await make_customer("acme")
    token = (await reset_path(client)).removeprefix("/password/reset/")
    results = await asyncio.gather(
        choose_password(token, "premier mot de passe choisi", "premier mot de passe choisi", ip="203.0.113.1"),
        choose_password(token, "second mot de passe choisi", "second mot de passe choisi", ip="203.0.113.2"),
        return_exceptions=True)
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert len(refused) == 1 and "token" in refused[0].errors
    winner = "premier mot de passe choisi" if not isinstance(results[0], Exception) else "second mot de passe choisi"
    assert (await sign_in(client, "acme_admin", winner)).status_code == 303

async def test_expired_token_is_refused(client):
    await make_customer("acme")
    path = await reset_path(client)
    await UserToken.update({UserToken.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
        UserToken.id > 0
    )
    page = await client.get(path)
    assert page.status_code == 410
    assert GONE in text_of(page.text)
    assert "Demander un nouveau lien" in text_of(page.text)
    refused = await choose(client, path)
    assert refused.status_code == 410
    assert GONE in text_of(refused.text)
    assert (await sign_in(client, "acme_admin", NEW_PASSWORD)).status_code == 422
    assert (await sign_in(client, "acme_admin", DEFAULT_PASSWORD)).status_code == 303


async def test_made_up_token_is_refused(client):
    await make_customer("acme")
    page = await client.get("/password/reset/not-a-real-token")
    assert page.status_code == 410
    assert (await choose(client, "/password/reset/not-a-real-token")).status_code == 410


async def test_weak_new_password_is_refused_beside_its_field_and_the_link_still_works(client):
    await make_customer("acme")
    path = await reset_path(client)
    for weak, message in (("onze caract", "au moins 12 caractères"), ("password1234", "trop courant"),
                          ("x" * 129, "128 caractères")):
        response = await choose(client, path, weak)
        assert response.status_code == 422
        assert message in field_error(response.text, "password")
        assert weak not in response.text.replace("password_confirm", "")  # never echoed back
    token = await UserToken.objects().first()
    assert token.used_at is None
    assert (await sign_in(client, "acme_admin", DEFAULT_PASSWORD)).status_code == 303
    assert (await choose(client, path)).status_code == 303


async def test_username_as_new_password_is_refused(client):
    from app.accounts.services import create_user
    from app.db.tables import Company

    company = (await Company.insert(Company(name="X", street="1 rue", city="Lyon", postal_code="69001",
                                            country="France", email="x@example.com",
                                            phone="0123456789")).returning(Company.id))[0]["id"]
    await create_user(username="longusername", first_name="L", last_name="U", email="l@example.com",
                      role="admin", company_id=company, password=DEFAULT_PASSWORD)
    path = await reset_path(client, "longusername")
    response = await choose(client, path, "LongUsername")
    assert response.status_code == 422
    assert "identifiant" in field_error(response.text, "password")


async def test_mismatched_confirmation_is_refused_beside_its_field(client):
    await make_customer("acme")
    path = await reset_path(client)
    response = await choose(client, path, NEW_PASSWORD, "un tout nouveau mot de passE")
    assert response.status_code == 422
    assert field_error(response.text, "password_confirm") == "Les deux mots de passe ne sont pas identiques."
    assert field_error(response.text, "password") is None
    assert NEW_PASSWORD not in response.text
    assert (await sign_in(client, "acme_admin", NEW_PASSWORD)).status_code == 422
    assert (await UserToken.objects().first()).used_at is None


async def test_requesting_a_second_link_invalidates_the_first(client):
    await make_customer("acme")
    first = await reset_path(client)
    second = await reset_path(client)
    assert first != second
    assert (await client.get(first)).status_code == 410
    assert (await choose(client, first)).status_code == 410
    assert (await client.get(second)).status_code == 200
    assert (await choose(client, second)).status_code == 303


async def test_reset_frees_a_username_locked_by_failed_sign_ins(client):
    await make_customer("acme")
    # ten failed sign-ins from an attacker's address have locked the username
    await RateLimitHit.insert(*[RateLimitHit(bucket="sign-in-user", key="acme_admin") for _ in range(10)])
    assert (await sign_in(client, "acme_admin")).status_code == 429
    path = await reset_path(client)
    assert (await choose(client, path)).status_code == 303
    assert (await sign_in(client, "acme_admin", NEW_PASSWORD)).status_code == 303


# --- rate limits ---------------------------------------------------------------------------------


async def test_reset_requests_are_rate_limited_per_identifier(client, new_client):
    await make_customer("acme")
    for _ in range(5):
        assert (await request_link(client, "acme_admin")).status_code == 200
    limited = await request_link(new_client("198.51.100.40"), "ACME_admin")
    assert limited.status_code == 429
    assert "Trop de demandes de réinitialisation" in text_of(limited.text)
    assert int(limited.headers["retry-after"]) > 0
    assert len(outbox()) == 5
    # the limit is per identifier: an unknown one is limited the same way (no enumeration)
    for _ in range(5):
        await request_link(client, "ghost")
    assert (await request_link(client, "ghost")).status_code == 429


async def test_reset_requests_are_rate_limited_per_address(client, new_client):
    await make_customer("acme")
    for attempt in range(20):
        assert (await request_link(client, f"someone{attempt}")).status_code == 200
    limited = await request_link(client, "acme_admin")
    assert limited.status_code == 429
    assert "depuis votre réseau" in text_of(limited.text)
    assert outbox() == []
    assert (await request_link(new_client("198.51.100.41"), "acme_admin")).status_code == 200
    assert len(outbox()) == 1
    assert await RateLimitHit.count().where(RateLimitHit.bucket == "reset-ip") == 21


# --- the links stay out of the logs (ASVS V7.1.1) -----------------------------------------------


async def test_reset_and_invitation_links_never_reach_the_logs(app, client, new_client, caplog):
    """Served by uvicorn as in production: its access log, the outbox's log lines and the refusal
    lines show where a link leads, never its token."""
    caplog.set_level(logging.INFO)
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    await post_form(client, "/settings/users", {"first_name": "Bob", "last_name": "D", "role": "basic",
                                                "email": "bob@acme.example", "username": "bob"})
    invitation = link_in(outbox()[-1]).removeprefix("http://testserver")
    reset = await reset_path(new_client(), "acme_basic")
    tokens = [path.rsplit("/", 1)[1] for path in (invitation, reset)]

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listening.getsockname()[1]}") as browser:
            for path in (invitation, reset):
                assert (await browser.get(path)).status_code == 200
            # a form whose CSRF token is missing: refused, and the refusal is logged with its path
            assert (await browser.post(reset, data={"password": NEW_PASSWORD})).status_code == 403
    finally:
        server.should_exit = True
        await serving

    lines = {name: [r.getMessage() for r in caplog.records if r.name == name]
             for name in ("uvicorn.access", "app.mail", "app.web.errors")}
    assert sum('"GET /password/reset/[masqué] HTTP/1.1" 200' in line for line in lines["uvicorn.access"]) == 2
    assert any('"POST /password/reset/[masqué] HTTP/1.1" 403' in line for line in lines["uvicorn.access"])
    assert any(line.startswith("403 POST /password/reset/[masqué] ") for line in lines["app.web.errors"])
    assert [line.split(": ", 1)[1] for line in lines["app.mail"]] == [
        "Votre accès au portail des contrats de service", "Réinitialisation de votre mot de passe"]
    # everything the portal and its server logged (the test's own HTTP client aside)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    for token in tokens:
        assert token not in logged
    assert "Choisissez" not in logged  # no mail body either
