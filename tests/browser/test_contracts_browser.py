"""Mes contrats, the contract page, Activer mon contrat and Demander un devis in Chromium.

What only a browser shows: the detail swapped in by htmx with its URL pushed and the back button
bringing the list back, the search narrowing the list as one types, the activation dialog, the
quote confirmation in place, the same screens with JavaScript off, and axe on each of them.
The answers themselves (404s, messages, rate limits) are tested over HTTP in tests/contracts/.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.async_api import Page, expect

from app.contracts.csv_import import import_contracts
from app.contracts.services import claim_contract
from app.db.tables import Company, ExtensionOffer, QuoteRequest
from tests.browser.pages import (
    ActivationDialog,
    ActivationPage,
    ContractDetailPage,
    ContractList,
    Header,
    LoginPage,
    SerialHelpPage,
    expect_one_layout,
    expect_same_document,
    mark_document,
    serious_axe_violations,
)
from tests.factories import HEADER, Customer, make_contract, make_customer, make_reseller
from tests.support import DEFAULT_PASSWORD

UNKNOWN_SERIAL = "Aucun contrat ne correspond à ce numéro de série."
QUOTE_SENT = ("Votre demande de devis pour EXT-2Y a été transmise à votre revendeur, "
              "qui vous répondra ici.")
# The whole page title of a contract page, as its full-page load shows it.
DETAIL_TITLE = re.compile(r"^Contrat n°1001 · ")


# --- data ------------------------------------------------------------------------------------


async def _claim(customer: Customer, *serials: str) -> None:
    async with Company._meta.db.transaction():
        for serial in serials:
            await claim_contract(customer.company_id, customer.admin_id, serial)


async def _three_contracts() -> tuple[int, Customer]:
    """acme holds 1001 (TS-131K-1TIW, NAS0001 with disk DISK0001), 1002 (DS224PLUS, NAS0002)
    and 1003 (TS-131K-1TIW, NAS0003); 2001 (NAS2001) is unclaimed."""
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await make_contract(reseller_id, "1002", "NAS0002", product="DS224PLUS")
    await make_contract(reseller_id, "1003", "NAS0003")
    await make_contract(reseller_id, "2001", "NAS2001")
    customer = await make_customer("acme", serial="NAS0001")
    await _claim(customer, "NAS0002", "NAS0003")
    return reseller_id, customer


async def _many_contracts(count: int) -> None:
    """acme holds `count` contracts, 3000, 3001…, imported in one file as a reseller does."""
    reseller_id = await make_reseller("R1")
    numbers = [str(3000 + n) for n in range(count)]
    starts, ends = date.today() - timedelta(days=30), date.today() + timedelta(days=700)
    await import_contracts(HEADER + "".join(
        f"{n},TS-131K-1TIW,{starts},{ends},nas,NAS TS-131K,TS-131K,SN{n},\n" for n in numbers
    ), reseller_id)
    customer = await make_customer("acme")
    await _claim(customer, *(f"SN{n}" for n in numbers))


async def _offer(reseller_id: int, code: str = "EXT-2Y",
                 references: tuple[str, ...] = ("TS-131K-1TIW",)) -> int:
    rows = await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code=code, label=f"Extension 2 ans {code} - Envoi express J+1",
        duration_months=24, product_references=list(references),
    )).returning(ExtensionOffer.id)
    return rows[0]["id"]


async def _sign_in(page: Page, username: str = "acme_admin") -> ContractList:
    login = LoginPage(page)
    await login.open()
    await login.sign_in(username, DEFAULT_PASSWORD)
    contracts = ContractList(page)
    await contracts.expect_shown()
    return contracts


# --- Mes contrats → contract page → back -----------------------------------------------------


async def test_voir_le_contrat_swaps_the_detail_in_and_back_returns_to_the_list(page):
    await _three_contracts()
    contracts = await _sign_in(page)
    await contracts.expect_numbers("1001", "1002", "1003")
    await mark_document(page)

    await contracts.detail_link("1001").click()

    detail = ContractDetailPage(page, "1001")
    await detail.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts/1001$"))
    await expect(detail.breadcrumb).to_contain_text("Mes contrats > Contrat n°1001")
    await expect(detail.article("NAS0001")).to_contain_text("N° de série : NAS0001")
    await expect(detail.article("DISK0001")).to_contain_text("Référence produit : ST1000VN002")
    await expect(contracts.table).to_have_count(0)
    await expect(detail.heading).to_be_focused()  # a screen reader announces the new page
    await expect_same_document(page)
    await expect_one_layout(page)

    await page.go_back()

    await contracts.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts$"))
    await contracts.expect_numbers("1001", "1002", "1003")
    await expect(detail.heading).to_have_count(0)
    await expect_same_document(page)
    await expect_one_layout(page)

    await page.go_forward()
    await detail.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts/1001$"))
    await expect_one_layout(page)

    # A reload of the pushed URL (a deep link) is the whole page.
    await page.reload()
    await detail.expect_shown()
    await expect(detail.article("DISK0001")).to_be_visible()
    await expect_one_layout(page)
    await expect(page).to_have_title(DETAIL_TITLE)


async def test_the_contract_swapped_in_names_the_page_after_it(page):
    """The tab, the history menu and a screen reader (WCAG 2.4.2) name the page shown: after the
    htmx swap the title is the contract's, as on a full load, and back gives the list's again."""
    await _three_contracts()
    contracts = await _sign_in(page)
    await expect(page).to_have_title(re.compile(r"^Mes contrats · "))

    await contracts.detail_link("1001").click()
    await ContractDetailPage(page, "1001").expect_shown()
    await expect(page).to_have_title(DETAIL_TITLE)

    await page.go_back()
    await contracts.expect_shown()
    await expect(page).to_have_title(re.compile(r"^Mes contrats · "))


async def test_breadcrumb_leads_back_to_the_list(page):
    await _three_contracts()
    contracts = await _sign_in(page)
    detail = ContractDetailPage(page, "1002", "DS224PLUS")
    await detail.open()

    await detail.list_link.click()

    await contracts.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts$"))
    await contracts.expect_numbers("1001", "1002", "1003")
    await expect_one_layout(page)


# --- search and pagination -------------------------------------------------------------------


async def test_search_as_you_type_narrows_the_list_and_pushes_the_query(page):
    await _three_contracts()
    contracts = await _sign_in(page)
    await mark_document(page)

    await contracts.search.press_sequentially("ds224")

    await contracts.expect_numbers("1002")
    await expect(page).to_have_url(re.compile(r"/contracts\?q=ds224$"))
    await expect(contracts.search).to_be_focused()
    await expect(contracts.search).to_have_value("ds224")

    # Any article's serial finds its contract: a disk of 1001.
    await contracts.search.fill("disk0001")
    await contracts.expect_numbers("1001")
    await expect(page).to_have_url(re.compile(r"/contracts\?q=disk0001$"))

    await contracts.search.fill("ZZZ-NOTHING")
    await expect(contracts.no_match).to_contain_text(
        "Aucun contrat ne correspond à « ZZZ-NOTHING »")
    await expect(contracts.table).to_have_count(0)

    await contracts.search.fill("")
    await contracts.expect_numbers("1001", "1002", "1003")
    await expect_same_document(page)

    # The address bar followed each search: back restores the one before.
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/contracts\?q=ZZZ-NOTHING$"))
    await expect(contracts.no_match).to_be_visible()
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/contracts\?q=disk0001$"))
    await contracts.expect_numbers("1001")
    await expect(contracts.search).to_have_value("disk0001")
    await expect_one_layout(page)


async def test_the_list_pages_by_25_with_precedent_and_suivant(page):
    await _many_contracts(27)
    contracts = await _sign_in(page)
    await expect(contracts.body_rows).to_have_count(25)
    await expect(contracts.pager).to_contain_text("1–25 sur 27")
    await expect(contracts.previous_page).to_have_count(0)
    await mark_document(page)

    await contracts.next_page.click()

    await expect(contracts.pager).to_contain_text("26–27 sur 27")
    await expect(contracts.body_rows).to_have_count(2)
    await expect(page).to_have_url(re.compile(r"/contracts\?page=2$"))
    await expect(contracts.next_page).to_have_count(0)

    await contracts.previous_page.click()

    await expect(contracts.pager).to_contain_text("1–25 sur 27")
    await expect(contracts.body_rows).to_have_count(25)
    await expect(page).to_have_url(re.compile(r"/contracts\?page=1$"))
    await expect_same_document(page)


# --- Activer mon contrat -----------------------------------------------------------------------


async def test_activation_dialog_refuses_an_unknown_serial_inside_then_activates(page):
    await _three_contracts()
    contracts = await _sign_in(page)
    header = Header(page)
    dialog = ActivationDialog(page)
    await mark_document(page)

    # It opens as a modal dialog over the list, the serial field ready; Escape closes it.
    await header.activate.click()
    await expect(dialog.dialog).to_be_visible()
    assert await dialog.is_modal()
    await expect(dialog.serial).to_be_focused()
    await expect(page).to_have_url(re.compile(r"/contracts$"))
    await page.keyboard.press("Escape")
    await expect(dialog.dialog).to_have_count(0)
    await expect(contracts.heading).to_be_visible()
    await expect(header.activate).to_be_focused()

    await header.activate.click()
    await expect(dialog.dialog).to_be_visible()
    await dialog.activate("NOPE-12345")

    await expect(dialog.error).to_contain_text(UNKNOWN_SERIAL)
    await expect(dialog.serial).to_have_attribute("aria-invalid", "true")
    await expect(dialog.serial).to_have_accessible_description(
        re.compile(re.escape(UNKNOWN_SERIAL)))
    await expect(dialog.serial).to_have_value("NOPE-12345")
    await expect(dialog.help_link).to_have_attribute("href", "/help/serial-number")
    assert await dialog.is_modal()
    await expect(page).to_have_url(re.compile(r"/contracts$"))

    # As written on the case label: lower case, with a space.
    await dialog.activate("nas 2001")

    detail = ContractDetailPage(page, "2001")
    await detail.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts/2001\?activated=1$"))
    await expect(detail.activated).to_have_text(
        "Le contrat n°2001 est maintenant dans votre espace.")
    await expect(dialog.dialog).to_have_count(0)
    await expect_same_document(page)
    await expect_one_layout(page)

    await detail.list_link.click()
    await contracts.expect_numbers("1001", "1002", "1003", "2001")


async def test_a_serial_refused_in_the_dialog_keeps_the_focus_on_the_field(page):
    """The message swapped into the dialog must reach a keyboard or screen-reader user: the
    focus goes back to the refused field (which carries the message as its description)
    instead of falling to the page's body behind the modal dialog."""
    await _three_contracts()
    await _sign_in(page)
    dialog = ActivationDialog(page)
    await Header(page).activate.click()
    await expect(dialog.serial).to_be_focused()

    await dialog.serial.fill("NOPE-12345")
    await dialog.submit.focus()  # a keyboard user tabs to the button and presses Enter
    await page.keyboard.press("Enter")

    await expect(dialog.error).to_contain_text(UNKNOWN_SERIAL)
    await expect(dialog.serial).to_be_focused()


async def test_activation_without_javascript_is_a_page_of_its_own(page_without_js):
    page = page_without_js
    await _three_contracts()
    await _sign_in(page)

    await Header(page).activate.click()

    activation = ActivationPage(page)
    await activation.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts/activate$"))
    await activation.activate("NOPE-12345")
    await expect(activation.error_beside("serial")).to_contain_text(UNKNOWN_SERIAL)
    await expect(activation.serial).to_have_value("NOPE-12345")

    await activation.activate("NAS2001")

    detail = ContractDetailPage(page, "2001")
    await detail.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts/2001\?activated=1$"))
    await expect(detail.activated).to_be_visible()


# --- Demander un devis -----------------------------------------------------------------------


async def test_quote_request_is_confirmed_in_place(page):
    reseller_id, _ = await _three_contracts()
    await _offer(reseller_id)
    await _sign_in(page)
    detail = ContractDetailPage(page, "1001")
    await detail.open()
    await mark_document(page)

    await detail.quote_button("EXT-2Y").click()

    await expect(detail.quote_sent).to_have_text(QUOTE_SENT)
    await expect(detail.quote_button("EXT-2Y")).to_have_count(0)
    await expect(detail.extensions).to_contain_text("Demandé")
    await expect(detail.quotes_table.get_by_role("row").filter(has_text="EXT-2Y")).to_have_count(1)
    await expect(page).to_have_url(re.compile(r"/contracts/1001$"))
    await expect(detail.heading).to_be_visible()
    await expect_same_document(page)
    await expect_one_layout(page)
    assert await QuoteRequest.count() == 1


# --- JavaScript off ----------------------------------------------------------------------------


async def test_list_search_detail_and_quote_work_without_javascript(page_without_js):
    page = page_without_js
    reseller_id, _ = await _three_contracts()
    await _offer(reseller_id)
    contracts = await _sign_in(page)
    await contracts.expect_numbers("1001", "1002", "1003")

    await contracts.search.fill("DS224")
    await contracts.search_button.click()
    await expect(page).to_have_url(re.compile(r"/contracts\?q=DS224$"))
    await contracts.expect_numbers("1002")
    await expect(contracts.search).to_have_value("DS224")

    await contracts.search.fill("")
    await contracts.search_button.click()
    await contracts.expect_numbers("1001", "1002", "1003")

    await contracts.detail_link("1001").click()

    detail = ContractDetailPage(page, "1001")
    await detail.expect_shown()
    await expect(page).to_have_url(re.compile(r"/contracts/1001$"))
    await expect(page).to_have_title(DETAIL_TITLE)
    await expect(detail.article("DISK0001")).to_be_visible()
    await expect(detail.declare_link).to_have_attribute("href", "/contracts/1001/incidents/new")

    await detail.quote_button("EXT-2Y").click()

    await expect(detail.quote_sent).to_have_text(QUOTE_SENT)
    await expect(detail.heading).to_be_visible()
    await expect_one_layout(page)

    await detail.list_link.click()
    await contracts.expect_shown()
    await contracts.expect_numbers("1001", "1002", "1003")


async def test_expired_contract_says_why_declaring_is_refused(page):
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "1001", "NAS0001", ends_on=date.today() - timedelta(days=1))
    await make_customer("acme", serial="NAS0001")
    await _sign_in(page)
    detail = ContractDetailPage(page, "1001")
    await detail.open()

    await expect(detail.declare_refused).to_be_disabled()
    await expect(detail.declare_refused).to_have_accessible_description(
        re.compile(r"n'est plus protégé depuis le .*"
                   r"il n'est plus possible de déclarer un incident")
    )
    await expect(detail.declare_link).to_have_count(0)


# --- Accessibility -----------------------------------------------------------------------------


async def _list(page: Page) -> None:
    await _three_contracts()
    await _sign_in(page)


async def _list_without_match(page: Page) -> None:
    contracts = await _sign_in_with_contracts(page)
    await contracts.search.press_sequentially("ZZZ")
    await expect(contracts.no_match).to_be_visible()


async def _list_paged(page: Page) -> None:
    await _many_contracts(27)
    contracts = await _sign_in(page)
    await contracts.next_page.click()
    await expect(page).to_have_url(re.compile(r"page=2$"))


async def _sign_in_with_contracts(page: Page) -> ContractList:
    await _three_contracts()
    return await _sign_in(page)


async def _detail_swapped_in(page: Page) -> None:
    reseller_id, _ = await _three_contracts()
    await _offer(reseller_id)
    contracts = await _sign_in(page)
    await contracts.detail_link("1001").click()
    await ContractDetailPage(page, "1001").expect_shown()


async def _detail(page: Page) -> None:
    reseller_id, _ = await _three_contracts()
    await _offer(reseller_id)
    await _sign_in(page)
    await ContractDetailPage(page, "1001").open()


async def _detail_quote_sent(page: Page) -> None:
    await _detail(page)
    detail = ContractDetailPage(page, "1001")
    await detail.quote_button("EXT-2Y").click()
    await expect(detail.quote_sent).to_be_visible()


async def _detail_expired(page: Page) -> None:
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "1001", "NAS0001", ends_on=date.today() - timedelta(days=1))
    await _offer(reseller_id)
    await make_customer("acme", serial="NAS0001")
    await _sign_in(page)
    await ContractDetailPage(page, "1001").open()


async def _activation_dialog_refused(page: Page) -> None:
    await _sign_in_with_contracts(page)
    await Header(page).activate.click()
    dialog = ActivationDialog(page)
    await dialog.activate("NOPE-12345")
    await expect(dialog.error).to_be_visible()


async def _help(page: Page) -> None:
    help_page = SerialHelpPage(page)
    await help_page.open()
    await expect(help_page.drawings).to_have_count(3)


async def _help_signed_in(page: Page) -> None:
    await _sign_in_with_contracts(page)
    await SerialHelpPage(page).open()


SCREENS = {
    "list": _list,
    "list-without-match": _list_without_match,
    "list-page-2": _list_paged,
    "detail": _detail,
    "detail-swapped-in": _detail_swapped_in,
    "detail-quote-sent": _detail_quote_sent,
    "detail-expired": _detail_expired,
    "activation-dialog-refused": _activation_dialog_refused,
    "help": _help,
    "help-signed-in": _help_signed_in,
}


@pytest.mark.parametrize("screen", SCREENS)
async def test_contract_pages_pass_axe(page, screen):
    await SCREENS[screen](page)

    report = await serious_axe_violations(page)

    assert not report, f"axe found serious or critical violations on {page.url}:\n{report}"
