"""/healthz, the security headers of every page, and pages that need no inline script or style.

The Content-Security-Policy forbids inline code, so every rendered page is checked for it: a
`<script>` with a body, a `style` attribute or element, an `on...=` handler, or `hx-on` (which
htmx evaluates as code).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.factories import make_contract, make_customer, make_reseller
from tests.support import post_form, sign_in, text_of

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"


# --- /healthz ------------------------------------------------------------------------------------


async def test_healthz_answers_ok_when_the_database_answers(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch, caplog):
    import app.web.health as health

    class Down:
        async def run_ddl(self, *_args, **_kwargs):
            raise ConnectionRefusedError("database down at 10.0.0.5:5432")

    monkeypatch.setattr(health, "engine_finder", lambda: Down())
    caplog.set_level(logging.WARNING, logger="app.web.health")
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.content == b'{"status":"unavailable"}'  # fixed: nothing of the cause
    assert "database down at 10.0.0.5:5432" in caplog.text  # which goes to the log


# --- what every page must carry ------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def header_problems(response) -> list[str]:
    """What the response lacks among the headers every HTML page must carry (empty when fine)."""
    headers = response.headers
    problems: list[str] = []
    csp = headers.get("content-security-policy")
    if csp is None:
        problems.append("no Content-Security-Policy")
    else:
        directives = csp_directives(csp)
        for name, wanted in (("default-src", ["'self'"]), ("object-src", ["'none'"]),
                             ("base-uri", ["'none'"]), ("frame-ancestors", ["'none'"])):
            if directives.get(name) != wanted:
                problems.append(f"CSP {name} is {directives.get(name)}")
        for name, source_list in directives.items():
            for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*"):
                if unsafe in source_list:
                    problems.append(f"CSP {name} allows {unsafe}")
        for name in ("script-src", "style-src"):
            if name in directives and not set(directives[name]) <= {"'self'"}:
                problems.append(f"CSP {name} is {directives[name]}")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("referrer-policy") not in {"no-referrer", "same-origin", "strict-origin",
                                              "strict-origin-when-cross-origin"}:
        problems.append(f"Referrer-Policy is {headers.get('referrer-policy')}")
    if not headers.get("permissions-policy"):
        problems.append("no Permissions-Policy")
    if headers.get("content-type", "").lower().replace(" ", "") != "text/html;charset=utf-8":
        problems.append(f"Content-Type is {headers.get('content-type')}")
    if "hx-request" not in [v.strip().lower() for v in headers.get("vary", "").split(",")]:
        problems.append("no Vary: HX-Request")
    return problems


def assert_secure_html(response) -> None:
    assert header_problems(response) == []


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, inline styles, event handlers."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.problems.append(f"<script> without src at {self.getpos()}")
        if tag == "style":
            self.problems.append(f"<style> element at {self.getpos()}")
        if tag == "link" and dict(attrs).get("rel") == "stylesheet":
            href = dict(attrs).get("href") or ""
            if not href.startswith("/static/"):
                self.problems.append(f"stylesheet from elsewhere: {href}")
        for name in names:
            if name == "style":
                self.problems.append(f"style= on <{tag}> at {self.getpos()}")
            if name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}> at {self.getpos()}")
            if name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.problems.append(f"{name}= on <{tag}> at {self.getpos()}")
            if name in ("href", "src", "action"):
                value = (dict(attrs).get(name) or "").strip().lower()
                if value.startswith("javascript:"):
                    self.problems.append(f"javascript: URL on <{tag}> at {self.getpos()}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script code: {data.strip()[:60]!r}")


def inline_code_in(page: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(page)
    finder.close()
    return finder.problems


async def _public_pages(client) -> dict[str, object]:
    await make_customer("acme")
    reset_gone = await client.get("/password/reset/not-a-token")
    return {
        "login": await client.get("/login"),
        "login refused": await sign_in(client, "acme_admin", "wrong password here"),
        "register": await client.get("/register"),
        "register refused": await post_form(client, "/register", {"email": "nope"}),
        "forgot": await client.get("/password/forgot"),
        "forgot sent": await post_form(client, "/password/forgot", {"identifier": "nobody"}),
        "reset gone": reset_gone,
        "serial help": await client.get("/help/serial-number"),
        "404": await client.get("/no/such/page"),
        "csrf refused": await client.post("/login", data={"username": "x", "password": "y"}),
    }


async def _signed_in_pages(client) -> dict[str, object]:
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await make_contract(reseller_id, "1002", "NAS0002")
    await make_customer("beta", serial="NAS0001")
    await sign_in(client, "beta_admin")
    return {
        "contracts": await client.get("/contracts"),
        "contract": await client.get("/contracts/1001"),
        "activate": await client.get("/contracts/activate"),
        "activate refused": await post_form(client, "/contracts/activate", {"serial": "NOPE"}),
        "signed-in 404": await client.get("/contracts/9999"),
        "search partial": await client.get("/contracts", params={"q": "1001"},
                                           headers={"HX-Request": "true", "HX-Target": "contract-results"}),
    }


async def test_every_public_page_carries_the_security_headers(client):
    pages = await _public_pages(client)
    for name, response in pages.items():
        assert response.status_code in (200, 403, 404, 410, 422), name
    problems = {name: header_problems(response) for name, response in pages.items()}
    assert {name: found for name, found in problems.items() if found} == {}


async def test_every_signed_in_page_carries_the_security_headers(client):
    pages = await _signed_in_pages(client)
    for name, response in pages.items():
        assert response.status_code in (200, 404, 422), (name, response.status_code)
    problems = {name: header_problems(response) for name, response in pages.items()}
    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/no/such/page", 404),
    ("POST", "/healthz", 405),
    ("POST", "/login", 403),  # no CSRF token
])
async def test_pages_refused_before_any_route_runs_carry_the_security_headers_too(
    client, method, path, status
):
    await client.get("/login")
    response = await client.request(method, path, data={"username": "x"})
    assert response.status_code == status
    assert header_problems(response) == []


async def test_static_files_are_nosniff_too(client):
    response = await client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


# --- no copies left behind: caches and sign-out (ASVS V8.1.1, V8.2.1, V3.3.1, V8.2.3) -----------


async def test_every_answer_to_a_signed_in_user_is_no_store(client):
    pages = {**await _signed_in_pages(client),
             "bell panel": await client.get("/notifications/panel", headers={"HX-Request": "true"}),
             "bell badge": await client.get("/notifications/badge", headers={"HX-Request": "true"}),
             "redirect": await client.get("/"),
             "csrf refused": await client.post("/settings/profile", data={"first_name": "x"})}
    assert pages["redirect"].status_code == 303 and pages["csrf refused"].status_code == 403
    assert {name: response.headers.get("cache-control") for name, response in pages.items()
            if response.headers.get("cache-control") != "no-store"} == {}
    # what is the same for everyone stays cacheable
    assert "no-store" not in (await client.get("/static/css/app.css")).headers.get("cache-control", "")


async def test_sign_out_clears_the_browser_cache_and_the_sign_in_page_still_works(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    assert (await client.get("/contracts")).status_code == 200
    response = await post_form(client, "/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert response.headers["clear-site-data"] == '"cache", "storage"'
    assert response.headers["set-cookie"].startswith('session="";')
    assert response.headers["cache-control"] == "no-store"
    # the CSRF cookie is kept (no "cookies" in Clear-Site-Data): the sign-in form that follows works
    login = await client.get("/login")
    assert login.status_code == 200 and "no-store" not in login.headers.get("cache-control", "")
    assert (await sign_in(client, "acme_admin")).status_code == 303


# --- behind TLS: SECURE_COOKIES (ASVS V3.4.1, V14.4.5) --------------------------------------------


@pytest.fixture
async def tls_client(app, monkeypatch):
    """A browser on https:// against an app built with SECURE_COOKIES=1 (the database pool and the
    broker are the test app's, already running)."""
    import app.accounts.controllers as account_controllers
    import app.config as config
    from app import create_app

    secure = dataclasses.replace(config.settings, secure_cookies=True)
    monkeypatch.setattr(config, "settings", secure)  # what create_app() reads
    monkeypatch.setattr(account_controllers, "settings", secure)  # what the session cookie reads
    transport = httpx.ASGITransport(app=create_app(), client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        yield http


async def test_with_secure_cookies_every_cookie_is_secure_and_hsts_is_sent(tls_client):
    await make_customer("acme")
    login = await tls_client.get("/login")
    csrf_cookie = login.headers["set-cookie"]
    assert csrf_cookie.startswith("csrftoken=") and "; Secure" in csrf_cookie
    signed_in = await sign_in(tls_client, "acme_admin")
    assert signed_in.status_code == 303
    session_cookie = signed_in.headers["set-cookie"]
    assert session_cookie.startswith("session=")
    assert {"Secure", "HttpOnly", "SameSite=lax"} <= {part.strip() for part in session_cookie.split(";")}
    responses = [login, signed_in, await tls_client.get("/contracts"), await tls_client.get("/no/such/page"),
                 await tls_client.get("/static/css/app.css"), await tls_client.get("/healthz")]
    assert [r.headers.get("strict-transport-security") for r in responses] == [
        "max-age=63072000; includeSubDomains"] * len(responses)


async def test_without_secure_cookies_plain_http_development_gets_no_hsts(client):
    response = await client.get("/login")
    assert "strict-transport-security" not in response.headers
    assert "Secure" not in response.headers["set-cookie"]


# --- the static folder: files, never listings nor what lies beside it (ASVS V4.3.2, V12.5.1) -----


async def raw_get(app, raw_path: bytes) -> tuple[int, bytes]:
    """GET a path exactly as a client may send it (httpx would remove its dot segments)."""
    from urllib.parse import unquote

    path = unquote(raw_path.decode("ascii"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": raw_path, "query_string": b"", "root_path": "",
             "server": ("testserver", 80), "client": ("203.0.113.7", 40000),
             "headers": [(b"host", b"testserver")]}
    answer: dict = {"body": b""}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]


@pytest.mark.parametrize("raw_path", [
    b"/static", b"/static/", b"/static/css/", b"/static/css", b"/static/../config.py",
    b"/static/%2e%2e/config.py", b"/static/%2E%2E/%2E%2E/pyproject.toml", b"/static/..%2fconfig.py",
    b"/static/css/../../config.py", b"/static/%2fetc/passwd", b"/static//etc/passwd",
])
async def test_static_folder_lists_nothing_and_serves_nothing_beside_it(app, raw_path):
    status, body = await raw_get(app, raw_path)
    assert status == 404
    assert "Page introuvable" in body.decode()
    # the plain 404 page, word for word: no listing, no file, no hint of what exists
    assert text_of(body.decode()) == text_of((await raw_get(app, b"/no/such/page"))[1].decode())
    assert b"load_settings" not in body and b"[project]" not in body and b"root:" not in body


async def test_no_rendered_public_page_has_inline_script_or_style(client):
    for name, response in (await _public_pages(client)).items():
        assert inline_code_in(response.text) == [], name


async def test_no_rendered_signed_in_page_has_inline_script_or_style(client):
    for name, response in (await _signed_in_pages(client)).items():
        assert inline_code_in(response.text) == [], name


def test_no_template_source_has_inline_script_or_style():
    """Catches the templates no test renders yet."""
    found = {str(path.relative_to(TEMPLATES)): inline_code_in(path.read_text(encoding="utf-8"))
             for path in sorted(TEMPLATES.rglob("*.html"))}
    assert found
    assert {name: problems for name, problems in found.items() if problems} == {}


# --- htmx keeps nothing and evaluates nothing (ASVS V8.2.2, V5.2.4) -------------------------------


async def test_htmx_config_keeps_no_history_copy_and_evaluates_no_code(client):
    page = (await client.get("/login")).text
    match = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", page)
    assert match, "no htmx-config in the rendered base template"
    config = json.loads(match.group(1))
    assert config["historyCacheSize"] == 0  # no copy of pages in localStorage
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False  # no inline <style> (the CSP refuses it)


# --- errors and tenancy --------------------------------------------------------------------------


async def test_an_unknown_url_gives_the_404_page(client):
    response = await client.get("/nothing/here")
    assert response.status_code == 404
    text = text_of(response.text)
    assert "Page introuvable" in text
    assert "Retour à l'accueil" in text
    assert_secure_html(response)


async def test_an_unknown_url_keeps_the_menu_for_a_signed_in_user(client):
    await make_customer("acme")
    await sign_in(client, "acme_admin")
    response = await client.get("/nothing/here")
    assert response.status_code == 404
    assert "Page introuvable" in text_of(response.text)
    assert "Mes contrats" in text_of(response.text)


async def test_a_reseller_user_visiting_mes_contrats_gets_404(client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    assert (await sign_in(client, "agent_r1")).status_code == 303
    for path in ("/contracts", "/contracts/1001", "/contracts/activate"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "Page introuvable" in text_of(response.text)
        assert "1001" not in text_of(response.text).replace(path, "")


async def test_a_path_cannot_forge_a_log_line(client, caplog):
    """ASVS V7.3.1: the path is typed by whoever sends the request; its newline is written out."""
    caplog.set_level(logging.INFO, logger="app.web.errors")
    response = await client.get("/inconnu%0A2026-11-27 08:00:00 INFO app: admin signed in")
    assert response.status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "app.web.errors"]
    assert lines and all("\n" not in line for line in lines)
    assert any("/inconnu\\x0a2026-11-27" in line for line in lines)


async def test_an_unexpected_error_shows_the_generic_page_and_nothing_of_the_error(client, monkeypatch, caplog):
    """ASVS V7.4.1/V7.4.3: a bug answers 500 with the friendly page; the details go to the log only."""
    from app.contracts import services

    async def broken(*_args, **_kwargs):
        raise RuntimeError("secret internal detail: table contract_xyz")

    await make_customer("acme")
    await sign_in(client, "acme_admin")
    monkeypatch.setattr(services, "list_company_contracts", broken)
    response = await client.get("/contracts")
    assert response.status_code == 500
    assert "Une erreur inattendue s'est produite" in text_of(response.text)
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert any(record.exc_info and "secret internal detail" in str(record.exc_info[1])
               for record in caplog.records if record.name == "app.web.errors")  # for the operator
