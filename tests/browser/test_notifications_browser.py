"""The bell, live (SPEC §3.11, §5 Live): a reseller's action shows on the customer's badge and
panel without reload, also after the stream was cut; new incidents appear in the open queue."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from app.accounts.services import create_user
from tests.browser.pages import LoginPage
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import DEFAULT_PASSWORD, sign_in


async def _world(live_server) -> str:
    """A reseller administrator, a customer with a contract, and one declared incident."""
    reseller_id = await make_reseller("R1")
    await create_user(username="boss_r1", first_name="Rémi", last_name="Revendeur", email="boss@r1.example",
                      role="admin", reseller_id=reseller_id, password=DEFAULT_PASSWORD)
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        await sign_in(http, "acme_admin")
        return await declare(http, "1001")


async def _signed_in_page(new_context, live_server, username: str, path: str) -> Page:
    page = await (await new_context()).new_page()
    login = LoginPage(page)
    await login.open()
    await login.sign_in(username, DEFAULT_PASSWORD)
    await page.wait_for_url("**/contracts" if username.startswith("acme") else "**/reseller/incidents")
    await page.goto(live_server.url + path)
    return page


async def _reseller_sets_status(page: Page, number: str, status: str) -> None:
    await page.goto(page.url.split("/reseller")[0] + f"/reseller/incidents/{number}")
    await page.get_by_label("Statut").select_option(label=status)
    await page.get_by_role("button", name="Mettre à jour").click()
    await expect(page.get_by_text("Le statut est mis à jour ; le client est prévenu.")).to_be_visible()


async def _stream_open(page: Page) -> None:
    """Wait until the page's EventSource is connected (the badge has been filled by the stream)."""
    await page.wait_for_function("() => document.documentElement.dataset.live === 'on'")


async def test_status_change_shows_on_the_customers_badge_and_panel_without_reload(new_context, live_server):
    number = await _world(live_server)
    customer = await _signed_in_page(new_context, live_server, "acme_admin", f"/incidents/{number}")
    await customer.evaluate("window.notReloaded = true")
    await _stream_open(customer)
    badge = customer.locator("#notification-badge")
    await expect(badge).to_contain_text("Aucune notification non lue")

    reseller = await _signed_in_page(new_context, live_server, "boss_r1", "/reseller/incidents")
    await _reseller_sets_status(reseller, number, "En cours")

    await expect(badge.locator(".bell-count")).to_have_text("1", timeout=5000)
    await expect(badge).to_contain_text("1 notification non lue")
    await customer.get_by_role("link", name="Notifications").click()
    panel = customer.locator("#notification-panel")
    await expect(panel).to_contain_text(f"[Nouveau statut] Incident n. {number}")
    await expect(panel).to_contain_text("Votre revendeur traite cet incident.")
    assert await customer.evaluate("window.notReloaded") is True

    # a second change while the panel is open: the item is prepended live
    await _reseller_sets_status(reseller, number, "Résolu")
    await expect(panel.locator("li").first).to_contain_text("Cet incident a été résolu.", timeout=5000)
    await expect(badge.locator(".bell-count")).to_have_text("2")

    # clicking it opens the incident and marks it read
    await panel.locator("li").first.get_by_role("button").click()
    await customer.wait_for_url(f"**/incidents/{number}")
    await expect(customer.get_by_text("✓ Cet incident a été résolu.")).to_be_visible()
    await expect(customer.locator("#notification-badge .bell-count")).to_have_text("1")


async def test_badge_still_updates_after_the_stream_was_cut(new_context, live_server):
    number = await _world(live_server)
    customer = await _signed_in_page(new_context, live_server, "acme_admin", "/contracts")
    await _stream_open(customer)
    await customer.evaluate("window.notReloaded = true")
    await customer.context.set_offline(True)
    await customer.wait_for_timeout(1500)
    await customer.context.set_offline(False)

    reseller = await _signed_in_page(new_context, live_server, "boss_r1", "/reseller/incidents")
    await _reseller_sets_status(reseller, number, "En attente de votre réponse")
    await expect(customer.locator("#notification-badge .bell-count")).to_have_text("1", timeout=15000)
    assert await customer.evaluate("window.notReloaded") is True


async def test_a_new_incident_appears_in_the_open_queue(new_context, live_server):
    first = await _world(live_server)
    reseller = await _signed_in_page(new_context, live_server, "boss_r1", "/reseller/incidents")
    await expect(reseller.get_by_role("link", name=first)).to_be_visible()
    await reseller.evaluate("window.notReloaded = true")
    await _stream_open(reseller)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        await sign_in(http, "acme_admin")
        second = await declare(http, "1001", title="Deuxième panne")
    await expect(reseller.get_by_role("link", name=second)).to_be_visible(timeout=5000)
    await expect(reseller.get_by_text("Deuxième panne")).to_be_visible()
    assert await reseller.evaluate("window.notReloaded") is True
