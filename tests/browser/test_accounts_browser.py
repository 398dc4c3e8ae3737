"""Se connecter and Création d'un nouveau compte in Chromium, with JavaScript on and off.

Each flow runs twice: with htmx boosting the forms, and as plain HTML form posts (SPEC §5: every
page works with JavaScript off). Each test checks that its mode really was the one exercised.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.pages import ContractsPage, LoginPage, Registration, RegisterPage
from tests.factories import make_contract, make_customer, make_reseller
from tests.support import DEFAULT_PASSWORD

BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
UNKNOWN_SERIAL = "Aucun contrat ne correspond à ce numéro de série."
SERIAL_ELSEWHERE = (
    "Ce numéro de série est déjà associé à un autre compte — contactez votre revendeur."
)
SERIOUS = ("serious", "critical")

with_and_without_js = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])


async def _open_page(new_context, javascript: bool) -> Page:
    context = await new_context(javascript=javascript)
    return await context.new_page()


async def _submit(page: Page, path: str, action, *, javascript: bool) -> None:
    """Run `action` (which submits a form to `path`) and check who sent it: htmx or the browser."""
    async with page.expect_request(
        lambda request: request.method == "POST" and request.url.endswith(path)
    ) as posted:
        await action()
    headers = await (await posted.value).all_headers()
    assert (headers.get("hx-request") == "true") is javascript, headers


async def _customer_with_contract(number: str = "29962", serial: str = "Q207B17555"):
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, number, serial)
    return await make_customer("acme", serial=serial)


# --- Se connecter ------------------------------------------------------------------------------


@with_and_without_js
async def test_customer_admin_signs_in_to_mes_contrats_and_signs_out(new_context, javascript):
    customer = await _customer_with_contract("29962", "Q207B17555")
    page = await _open_page(new_context, javascript)
    login = LoginPage(page)
    await login.open()

    await _submit(page, "/login", lambda: login.sign_in(customer.admin_username, DEFAULT_PASSWORD),
                  javascript=javascript)

    contracts = ContractsPage(page)
    await contracts.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts$"))
    await expect(contracts.menu_link("Mes contrats")).to_have_attribute("aria-current", "page")
    await contracts.expect_contract("29962", "Q207B17555")

    await contracts.sign_out()
    await login.expect_shown()
    await expect(page).to_have_url(re.compile(r"/login$"))

    await page.goto(ContractsPage.path)
    await login.expect_shown()
    await expect(contracts.heading).to_have_count(0)
    await expect(contracts.table).to_have_count(0)


@with_and_without_js
async def test_wrong_password_shows_one_message_and_keeps_the_identifier(new_context, javascript):
    customer = await _customer_with_contract()
    page = await _open_page(new_context, javascript)
    login = LoginPage(page)
    await login.open()

    await _submit(page, "/login",
                  lambda: login.sign_in(customer.admin_username, "not the password"),
                  javascript=javascript)

    await expect(login.error).to_have_text(BAD_CREDENTIALS)
    await expect(login.username).to_have_value(customer.admin_username)
    await expect(login.username).to_have_accessible_description(BAD_CREDENTIALS)
    await expect(login.password).to_have_value("")
    await expect(login.heading).to_be_visible()
    await expect(ContractsPage(page).menu).to_have_count(0)


# --- Création d'un nouveau compte --------------------------------------------------------------


@with_and_without_js
async def test_registration_signs_the_new_admin_in_on_mes_contrats(new_context, javascript):
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "29962", "Q207B17555")
    page = await _open_page(new_context, javascript)
    login = LoginPage(page)
    await login.open()
    await login.register_link.click()
    register = RegisterPage(page)
    await register.expect_shown()

    # Typed as found on the case label: lower case, with a space; the contract is still found.
    registration = Registration(serial="q207b 17555")
    await _submit(page, "/register", lambda: register.register(registration), javascript=javascript)

    contracts = ContractsPage(page)
    await contracts.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts\?welcome=1$"))
    await expect(contracts.welcome).to_be_visible()
    await contracts.expect_contract("29962", "Q207B17555")
    await expect(contracts.sign_out_button).to_be_visible()


@with_and_without_js
async def test_unknown_serial_is_refused_beside_the_serial_with_the_form_kept(new_context,
                                                                              javascript):
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "29962", "Q207B17555")
    page = await _open_page(new_context, javascript)
    register = RegisterPage(page)
    await register.open()

    registration = Registration(serial="NOSUCHSERIAL1")
    await _submit(page, "/register", lambda: register.register(registration), javascript=javascript)

    await register.expect_shown()
    await expect(register.form_alert).to_have_text("Un champ est à corriger.")
    await register.expect_error_beside("serial", UNKNOWN_SERIAL)
    await register.expect_kept(registration)
    await expect(page.locator("p.error")).to_have_count(1)
    await expect(page).to_have_url(re.compile(r"/register$"))


async def test_serial_of_another_company_is_refused_without_naming_it(page):
    await _customer_with_contract("29962", "Q207B17555")
    register = RegisterPage(page)
    await register.open()

    registration = Registration(serial="Q207B17555")
    await register.register(registration)

    await register.expect_error_beside("serial", SERIAL_ELSEWHERE)
    await register.expect_kept(registration)
    await expect(page.get_by_text("Société acme")).to_have_count(0)


async def test_every_faulty_field_gets_its_message_at_once(page):
    """SPEC §3.2: a refused form comes back with a message at each faulty field."""
    register = RegisterPage(page)
    await register.open()

    registration = Registration(company_email="pas-une-adresse", serial="NOSUCHSERIAL1")
    await register.register(registration)

    await expect(register.error_beside("company_email")).to_be_visible()
    await expect(register.form_alert).to_have_text("2 champs sont à corriger.")
    await register.expect_error_beside("serial", UNKNOWN_SERIAL)


# --- Accessibility -----------------------------------------------------------------------------


async def _refused_login(page: Page) -> None:
    login = LoginPage(page)
    await login.open()
    await login.sign_in("nobody_here", "not the password")
    await expect(login.error).to_be_visible()


async def _unknown_serial(page: Page) -> None:
    register = RegisterPage(page)
    await register.open()
    await register.register(Registration(serial="NOSUCHSERIAL1"))
    await expect(register.error_beside("serial")).to_be_visible()


async def _invalid_registration(page: Page) -> None:
    register = RegisterPage(page)
    await register.open()
    await register.register(Registration(company_email="pas-une-adresse", company_city="",
                                         password_confirm="une autre phrase"))
    await expect(register.error_beside("password_confirm")).to_be_visible()


SCREENS = {
    "login": lambda page: LoginPage(page).open(),
    "login-refused": _refused_login,
    "register": lambda page: RegisterPage(page).open(),
    "register-unknown-serial": _unknown_serial,
    "register-invalid": _invalid_registration,
}


@pytest.mark.parametrize("screen", SCREENS)
async def test_sign_in_and_registration_pages_pass_axe(page, screen):
    from axe_playwright_python.async_playwright import Axe

    await SCREENS[screen](page)

    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}"
                    for node in v["nodes"])
        for v in serious
    )
    assert not serious, f"axe found serious or critical violations on {page.url}:\n{report}"
