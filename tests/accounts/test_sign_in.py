"""Se connecter (SPEC §3.1): one message for any wrong credential, sessions in PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

from app.db.tables import AuditEvent, UserSession
from tests.factories import make_customer
from tests.support import field_error, post_form, sign_in, text_of

BAD = "Identifiant ou mot de passe incorrect."


async def test_login_page_shows_the_guide_fields(client):
    page = (await client.get("/login")).text
    for label in ("Identifiant", "Mot de passe", "Se souvenir de moi", "Mot de passe oublié ?",
                  "Connexion", "Créer un compte"):
        assert label in page


async def test_customer_signs_in_and_lands_on_mes_contrats(client):
    await make_customer("acme")
    response = await sign_in(client, "acme_admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert home.headers["location"] == "/contracts"
    page = await client.get("/contracts")
    assert page.status_code == 200
    assert "Mes contrats" in page.text
    assert await UserSession.count() == 1


async def test_username_is_case_insensitive(client):
    await make_customer("acme")
    response = await sign_in(client, "ACME_Admin")
    assert response.status_code == 303


async def test_wrong_password_and_unknown_user_get_the_same_message(client):
    await make_customer("acme")
    wrong_password = await sign_in(client, "acme_admin", "not the password at all")
    unknown_user = await sign_in(client, "nobody_here", "not the password at all")
    for response in (wrong_password, unknown_user):
        assert response.status_code == 422
        assert BAD in response.text
        assert "session" not in response.cookies
    assert text_of(wrong_password.text) == text_of(unknown_user.text).replace("nobody_here", "acme_admin")
    assert await UserSession.count() == 0
    assert await AuditEvent.count().where(AuditEvent.action == "sign_in_failed") == 2


async def test_username_is_kept_after_a_refusal(client):
    response = await sign_in(client, "someone", "wrong password here")
    assert 'value="someone"' in response.text


async def test_inactive_user_cannot_sign_in(client):
    from app.db.tables import User

    customer = await make_customer("acme")
    await User.update({User.is_active: False}).where(User.id == customer.admin_id)
    response = await sign_in(client, "acme_admin")
    assert response.status_code == 422
    assert BAD in response.text


async def test_sign_in_is_rate_limited_per_username_then_frees_itself(client, new_client):
    await make_customer("acme")
    for _ in range(10):
        assert (await sign_in(client, "acme_admin", "wrong password!!")).status_code == 422
    limited = await sign_in(client, "acme_admin")  # even the right password is refused now
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    # from another address too: the limit is on the username
    other = new_client("198.51.100.20")
    assert (await sign_in(other, "acme_admin")).status_code == 429
    # the window slides: once the failures are 15 minutes old, the real user gets in
    from app.db.tables import RateLimitHit

    await RateLimitHit.update({RateLimitHit.at: datetime.now(timezone.utc) - timedelta(minutes=16)}).where(
        RateLimitHit.bucket == "sign-in-user"
    )
    assert (await sign_in(client, "acme_admin")).status_code == 303


async def test_sign_in_is_rate_limited_per_address(client):
    await make_customer("acme")
    for attempt in range(30):
        await sign_in(client, f"guess{attempt}", "wrong password!!")
    response = await sign_in(client, "acme_admin")
    assert response.status_code == 429
    assert "depuis votre réseau" in response.text


async def test_session_cookie_is_http_only_and_browser_session_by_default(client):
    await make_customer("acme")
    response = await sign_in(client, "acme_admin")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()
    session = await UserSession.objects().first()
    assert session.remember is False
    assert session.expires_at - session.created_at <= timedelta(hours=2, seconds=5)


async def test_session_token_is_256_random_bits_and_only_its_sha256_is_stored(client, new_client):
    await make_customer("acme")
    tokens = []
    for browser in (client, new_client(), new_client()):
        await sign_in(browser, "acme_admin")
        tokens.append(browser.cookies["session"])
    for token in tokens:
        # secrets.token_urlsafe(32): 43 characters of 6 bits each, far above ASVS's 64 (and 128) bits
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token), token
    assert len(set(tokens)) == 3
    rows = await UserSession.raw("SELECT * FROM user_session ORDER BY id")
    assert [row["token_hash"] for row in rows] == [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
    for row in rows:
        assert not any(token in str(value) for token in tokens for value in row.values())


async def test_remember_me_keeps_the_session_thirty_days(client):
    await make_customer("acme")
    response = await sign_in(client, "acme_admin", remember=True)
    cookie = response.headers["set-cookie"]
    assert f"Max-Age={30 * 24 * 3600}" in cookie
    session = await UserSession.objects().first()
    assert session.remember is True
    assert session.expires_at - session.created_at == timedelta(days=30)


async def test_session_id_changes_at_sign_in(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    first = client.cookies["session"]
    await sign_in(client, "acme_admin")
    second = client.cookies["session"]
    assert first != second
    assert await UserSession.count() == 1  # the old one was ended, not left behind


async def test_signed_out_cookie_no_longer_works(client, new_client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    stolen = client.cookies["session"]
    response = await post_form(client, "/logout")
    assert response.status_code == 303
    assert await UserSession.count() == 0
    replay = new_client()
    replay.cookies.set("session", stolen)
    response = await replay.get("/contracts")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_expired_session_sends_back_to_sign_in(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    await UserSession.update({UserSession.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)}).where(
        UserSession.id > 0
    )
    response = await client.get("/contracts")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcontracts"


async def test_next_brings_the_user_back_but_never_off_site(client):
    await make_customer("acme")
    response = await post_form(client, "/login", {"username": "acme_admin",
                                                  "password": "correct horse battery staple",
                                                  "next": "/contracts"})
    assert response.headers["location"] == "/contracts"
    response = await post_form(client, "/login", {"username": "acme_admin",
                                                  "password": "correct horse battery staple",
                                                  "next": "//evil.example/"})
    assert response.headers["location"] == "/"


async def test_post_without_csrf_token_is_refused(client):
    await make_customer("acme")
    await client.get("/login")
    response = await client.post("/login", data={"username": "acme_admin",
                                                 "password": "correct horse battery staple"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.text
    assert await UserSession.count() == 0


async def test_htmx_request_sends_the_token_in_a_header(client):
    await make_customer("acme")
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": "acme_admin", "password": "correct horse battery staple"},
        headers={"x-csrftoken": client.cookies["csrftoken"], "HX-Request": "true", "HX-Boosted": "true"},
    )
    assert response.status_code == 303


async def test_pages_need_a_session(client):
    response = await client.get("/contracts")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcontracts"
    response = await client.get("/contracts", headers={"HX-Request": "true"})
    assert response.headers["hx-redirect"] == "/login?next=%2Fcontracts"


async def test_login_without_fields_refuses_politely(client):
    response = await post_form(client, "/login", {"username": "", "password": ""})
    assert response.status_code == 422
    assert BAD in response.text
    assert field_error(response.text, "username") is None
