"""Paramètres in Chromium (issue 5): the tabs switch without a full reload and the URL follows;
a form saves in place; axe finds no serious or critical problem on any tab."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.pages import (
    LoginPage,
    expect_one_layout,
    expect_same_document,
    mark_document,
    serious_axe_violations,
)
from tests.factories import make_customer
from tests.support import DEFAULT_PASSWORD

TABS = {"Profil": "/settings/profile", "Société": "/settings/company", "Utilisateurs": "/settings/users",
        "Adresses de livraison": "/settings/addresses"}


async def _settings_page(new_context, live_server, username="acme_admin"):
    await make_customer("acme")
    page = await (await new_context()).new_page()
    login = LoginPage(page)
    await login.open()
    await login.sign_in(username, DEFAULT_PASSWORD)
    await page.wait_for_url("**/contracts")
    await page.get_by_role("link", name="Paramètres").click()
    await page.wait_for_url("**/settings/profile")
    return page


async def test_tabs_switch_in_place_and_the_url_follows(new_context, live_server):
    page = await _settings_page(new_context, live_server)
    await mark_document(page)
    tabs = page.get_by_role("navigation", name="Sections des paramètres")
    for label, path in TABS.items():
        await tabs.get_by_role("link", name=label).click()
        await page.wait_for_url(f"**{path}")
        await expect(tabs.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        await expect_same_document(page)
        await expect_one_layout(page)
    await expect(page.get_by_role("cell", name="Adresse principale Par défaut")).to_be_visible()
    await page.go_back()
    await page.wait_for_url("**/settings/users")
    await expect(page.get_by_role("cell", name="acme_basic")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("cell", name="acme_basic")).to_be_visible()


async def test_profile_saves_in_place_with_a_confirmation(new_context, live_server):
    page = await _settings_page(new_context, live_server)
    await mark_document(page)
    await page.get_by_role("textbox", name="Prénom").fill("Alice")
    await page.get_by_role("button", name="Enregistrer les modifications").click()
    await expect(page.get_by_text("Vos informations sont enregistrées.")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Prénom")).to_have_value("Alice")
    await expect_same_document(page)
    await page.get_by_role("textbox", name="Prénom").fill("")
    await page.get_by_role("button", name="Enregistrer les modifications").click()
    await expect(page.locator("#e-first_name")).to_have_text("Ce champ est obligatoire.")


async def test_axe_on_every_tab(new_context, live_server):
    page = await _settings_page(new_context, live_server)
    for path in (*TABS.values(), "/settings/users/new", "/settings/addresses/new"):
        await page.goto(live_server.url + path)
        problems = await serious_axe_violations(page)
        assert not problems, f"{path}:\n{problems}"
