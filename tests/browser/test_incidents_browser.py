"""Déclarer un incident and the incident page in Chromium.

What only a browser shows: the wizard's steps swapped into `#wizard-step` with the address bar
following, files dropped on the drop zone uploading at once with a progress bar, a file over
20 MB refused before it is sent, the same wizard as plain form posts with JavaScript off, the
incident tabs swapped in place with their own URLs, a reply with a file in Messagerie, and axe on
every step and every tab. The server's rules are tested over HTTP in tests/incidents/.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, Route, expect

from app.db.tables import Attachment, Incident, Message
from tests.browser.pages import (
    INCIDENT_TABS,
    ContractDetailPage,
    IncidentPage,
    LoginPage,
    WizardPage,
    expect_one_layout,
    expect_same_document,
    mark_document,
    serious_axe_violations,
)
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import article_ids, declare, start
from tests.support import DEFAULT_PASSWORD, post_form, sign_in

TOO_BIG = "Le fichier dépasse la taille maximale de 20 Mo."
LOG = "2024-05-02 03:12:44 kernel: ata1: SATA link down\n" * 40
TITLE = "Le NAS ne démarre plus"
NEW_ADDRESS = {
    "Intitulé": "Agence de Nantes", "N° et nom de rue": "3 quai de la Fosse", "Ville": "Nantes",
    "Code postal": "44000", "Pays": "France", "Email": "nantes@example.com",
    "Téléphone": "02 40 00 00 00",
}
DRAFT_STEP = re.compile(r"/incidents/drafts/(\d+)/(\w+)$")
UPLOAD_URL = re.compile(r"/attachments$")


# --- data and shortcuts ----------------------------------------------------------------------


async def _customer() -> None:
    """acme holds contract 1001 (TS-131K-1TIW, NAS NAS0001 and disk DISK0001), sold by R1."""
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await make_customer("acme", serial="NAS0001")


async def _sign_in(page: Page) -> None:
    login = LoginPage(page)
    await login.open()
    await login.sign_in("acme_admin", DEFAULT_PASSWORD)
    await expect(page.get_by_role("heading", level=1, name="Mes contrats")).to_be_visible()


def _step(step: str) -> re.Pattern[str]:
    return re.compile(rf"/incidents/drafts/\d+/{step}$")


async def _walk_to_description(page: Page) -> WizardPage:
    """From the contract page to the Descriptif step, through the wizard as a person does."""
    detail = ContractDetailPage(page, "1001")
    await detail.open()
    await detail.declare_link.click()
    wizard = WizardPage(page)
    await wizard.expect_shown()
    await expect(wizard.step_heading("Mon contrat")).to_be_visible()
    await wizard.next_button.click()
    await wizard.expect_step("Ma déclaration", _step("declaration"))
    await wizard.declare(TITLE, "Produit défectueux", "NAS0001")
    await wizard.next_button.click()
    await wizard.expect_step("Descriptif et fichiers", _step("description"))
    return wizard


async def _draft_id(page: Page) -> int:
    match = DRAFT_STEP.search(page.url)
    assert match, page.url
    return int(match.group(1))


async def _declared(client) -> str:
    """An incident declared on 1001 through the wizard's plain form posts; its number."""
    await _customer()
    await sign_in(client, "acme_admin")
    return await declare(client, "1001", title=TITLE)


# --- the wizard with JavaScript ----------------------------------------------------------------


async def test_wizard_end_to_end_with_a_dropped_file_showing_its_progress(page):
    await _customer()
    await _sign_in(page)
    wizard = await _walk_to_description(page)
    await mark_document(page)
    draft_id = await _draft_id(page)
    await expect(wizard.dropzone.send_button).to_be_hidden()  # JavaScript uploads by itself

    await wizard.description.fill("LED rouge clignotante au démarrage, plus d'accès réseau.")
    # Hold the upload on its way so that its progress bar can be seen, then let it through.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route(UPLOAD_URL, hold)
    await wizard.dropzone.drop("nas.log", text=LOG)

    await expect(wizard.dropzone.progress("nas.log")).to_be_visible()
    await expect(wizard.dropzone.row("nas.log")).to_have_count(1)
    release.set()
    await expect(wizard.dropzone.remove_button("nas.log")).to_be_visible()
    await expect(wizard.dropzone.progress("nas.log")).to_have_count(0)
    await expect(wizard.dropzone.row("nas.log")).to_contain_text("Ko")
    await page.unroute(UPLOAD_URL)
    stored = await Attachment.select(Attachment.original_name, Attachment.size).where(
        Attachment.incident == draft_id)
    assert stored == [{"original_name": "nas.log", "size": len(LOG.encode())}]

    await wizard.next_button.click()

    await wizard.expect_step("Mon adresse de livraison", _step("address"))
    await expect(wizard.address("Adresse principale")).to_be_checked()
    await expect(wizard.new_address).to_be_hidden()
    await wizard.next_button.click()

    await wizard.expect_step("Vérification", _step("review"))
    await expect(wizard.review).to_contain_text(TITLE)
    await expect(wizard.review).to_contain_text("Produit défectueux")
    await expect(wizard.review).to_contain_text("Fichiers : nas.log")
    await expect(wizard.review).to_contain_text("Adresse principale")
    await expect_same_document(page)
    await expect_one_layout(page)

    await wizard.validate.click()

    await expect(page).to_have_url(re.compile(r"/incidents/\d{8}\?declared=1$"))
    number = re.search(r"/incidents/(\d{8})", page.url).group(1)
    incident = IncidentPage(page, number, TITLE)
    await incident.expect_shown()
    await expect(incident.declared).to_have_text(
        f"Votre déclaration n° {number} a été transmise à votre revendeur.")
    await expect(incident.current_tab).to_contain_text("Ma déclaration")
    await expect(incident.file("nas.log")).to_be_visible()
    download = incident.file("nas.log").get_by_role("link", name="Télécharger nas.log")
    await expect(download).to_be_visible()
    await expect_same_document(page)
    await expect_one_layout(page)
    assert (await Incident.select(Incident.status).where(Incident.number == number).first()) \
        == {"status": "new"}


async def test_a_file_picked_can_be_taken_back_before_submitting(page):
    await _customer()
    await _sign_in(page)
    wizard = await _walk_to_description(page)
    draft_id = await _draft_id(page)

    await wizard.dropzone.pick("photo-face-avant.txt", b"LED rouge\n")
    await wizard.dropzone.pick("journal.log", LOG.encode())

    await expect(wizard.dropzone.remove_button("photo-face-avant.txt")).to_be_visible()
    await expect(wizard.dropzone.remove_button("journal.log")).to_be_visible()
    await wizard.dropzone.remove_button("photo-face-avant.txt").click()

    await expect(wizard.dropzone.row("photo-face-avant.txt")).to_have_count(0)
    await expect(wizard.dropzone.row("journal.log")).to_have_count(1)
    kept = await Attachment.select(Attachment.original_name).where(
        (Attachment.incident == draft_id) & Attachment.deleted_at.is_null())
    assert kept == [{"original_name": "journal.log"}]


async def test_a_file_over_20_mb_is_refused_beside_the_drop_zone_before_sending(page):
    await _customer()
    await _sign_in(page)
    wizard = await _walk_to_description(page)
    uploads: list[str] = []
    page.on("request", lambda request: uploads.append(request.url)
            if request.method == "POST" and UPLOAD_URL.search(request.url) else None)

    await wizard.dropzone.drop("sauvegarde.log", size=21 * 1024 * 1024)

    refusal = wizard.dropzone.row("sauvegarde.log")
    await expect(refusal).to_contain_text(TOO_BIG)
    await expect(page.get_by_text(TOO_BIG)).to_be_visible()
    await expect(wizard.dropzone.progress("sauvegarde.log")).to_have_count(0)
    await expect(refusal.get_by_role("button", name="Retirer")).to_have_count(0)
    # Announced to a screen reader as well as shown.
    announced = refusal.locator("[aria-live], [role=alert], [role=status]")
    await expect(announced).to_contain_text(TOO_BIG)

    # A file under the limit still goes, beside the refused one.
    await wizard.dropzone.drop("petit.log", text="ok\n")
    await expect(wizard.dropzone.remove_button("petit.log")).to_be_visible()
    assert uploads == [page.url.replace("/description", "/attachments")], uploads
    names = await Attachment.select(Attachment.original_name)
    assert names == [{"original_name": "petit.log"}]


async def test_previous_and_next_keep_what_was_typed(page):
    await _customer()
    await _sign_in(page)
    wizard = await _walk_to_description(page)
    await mark_document(page)

    await wizard.description.fill("Le disque claque au démarrage.")
    await wizard.previous_button.click()

    await wizard.expect_step("Ma déclaration", _step("declaration"))
    await expect(wizard.title_field).to_have_value(TITLE)
    await expect(wizard.nature).to_have_value("defective")
    await expect(wizard.article("NAS0001")).to_be_checked()
    await expect(wizard.article("DISK0001")).not_to_be_checked()
    await wizard.next_button.click()

    await wizard.expect_step("Descriptif et fichiers", _step("description"))
    await expect(wizard.description).to_have_value("Le disque claque au démarrage.")
    await expect_same_document(page)

    # The back button, too, shows the step before with what it held.
    await page.go_back()
    await wizard.expect_step("Ma déclaration", _step("declaration"))
    await expect(wizard.title_field).to_have_value(TITLE)
    await expect_one_layout(page)


async def test_focus_moves_to_each_new_step_for_keyboard_and_screen_reader_users(page):
    """After Suivant the step is swapped in: the focus goes to its heading (as app.js means
    to do), so that a screen reader announces it and Tab continues from there, instead of
    falling to the page's body with the button that was replaced."""
    await _customer()
    await _sign_in(page)
    detail = ContractDetailPage(page, "1001")
    await detail.open()
    await detail.declare_link.click()
    wizard = WizardPage(page)
    await wizard.next_button.click()
    await wizard.expect_step("Ma déclaration", _step("declaration"))
    await wizard.declare(TITLE, "Produit défectueux", "NAS0001")

    await wizard.next_button.focus()
    await page.keyboard.press("Enter")

    await wizard.expect_step("Descriptif et fichiers", _step("description"))
    await expect(wizard.step_heading("Descriptif et fichiers")).to_be_focused()


async def test_the_page_title_follows_the_step(page):
    """Each step has its own URL and its own title (as its full-page load shows): the tab and
    the history menu name the step shown, and a screen reader announces it (WCAG 2.4.2)."""
    await _customer()
    await _sign_in(page)
    wizard = await _walk_to_description(page)
    await expect(page).to_have_title(
        re.compile(r"^Déclarer un incident — Descriptif et fichiers · "))

    await wizard.description.fill("Ne démarre plus.")
    await wizard.next_button.click()

    await wizard.expect_step("Mon adresse de livraison", _step("address"))
    await expect(page).to_have_title(
        re.compile(r"^Déclarer un incident — Mon adresse de livraison · "))


async def test_a_refused_step_shows_the_messages_in_place(page):
    await _customer()
    await _sign_in(page)
    await _walk_to_description(page)
    wizard = WizardPage(page)
    await wizard.previous_button.click()
    await wizard.expect_step("Ma déclaration", _step("declaration"))
    await mark_document(page)

    await wizard.title_field.fill("")
    await wizard.article("NAS0001").uncheck()
    await wizard.next_button.click()

    await expect(wizard.form_alert).to_have_text("2 champs sont à corriger.")
    await expect(wizard.title_field).to_have_attribute("aria-invalid", "true")
    await expect(wizard.articles).to_have_accessible_description(
        "Cochez au moins un produit concerné.")
    await expect(page).to_have_url(_step("declaration"))
    await expect_same_document(page)


async def test_a_new_address_is_asked_for_only_when_chosen(page):
    await _customer()
    await _sign_in(page)
    wizard = await _walk_to_description(page)
    await wizard.description.fill("Ne démarre plus.")
    await wizard.next_button.click()
    await wizard.expect_step("Mon adresse de livraison", _step("address"))
    await expect(wizard.new_address).to_be_hidden()

    await wizard.new_address_choice.check()

    await expect(wizard.new_address).to_be_visible()
    await wizard.new_address_field("Intitulé").fill("Agence de Nantes")
    await wizard.new_address_field("N° et nom de rue").fill("3 quai de la Fosse")
    await wizard.next_button.click()
    # Refused: the fields stay shown, with what was typed and a message beside each gap.
    await expect(wizard.new_address).to_be_visible()
    await expect(wizard.new_address_field("Intitulé")).to_have_value("Agence de Nantes")
    await expect(wizard.new_address_field("Ville")).to_have_attribute("aria-invalid", "true")
    await expect(wizard.new_address_choice).to_be_checked()


# --- the wizard without JavaScript -------------------------------------------------------------


async def test_wizard_without_javascript_end_to_end(page_without_js):
    page = page_without_js
    await _customer()
    await _sign_in(page)
    detail = ContractDetailPage(page, "1001")
    await detail.open()
    await detail.declare_link.click()
    wizard = WizardPage(page)
    await expect(wizard.step_heading("Mon contrat")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/contracts/1001/incidents/new$"))

    await wizard.next_button.click()
    await wizard.expect_step("Ma déclaration", _step("declaration"))
    await wizard.declare(TITLE, "Produit endommagé", "NAS0001", "DISK0001")
    await wizard.next_button.click()

    await wizard.expect_step("Descriptif et fichiers", _step("description"))
    await expect(wizard.dropzone.send_button).to_be_visible()
    await wizard.dropzone.pick("nas.log", LOG.encode())
    await wizard.dropzone.send_button.click()
    await wizard.expect_step("Descriptif et fichiers", _step("description"))
    await expect(wizard.dropzone.remove_button("nas.log")).to_be_visible()
    await wizard.description.fill("Boîtier cabossé à la livraison.")
    await wizard.next_button.click()

    await wizard.expect_step("Mon adresse de livraison", _step("address"))
    await expect(wizard.new_address).to_be_hidden()
    await wizard.new_address_choice.check()
    await expect(wizard.new_address).to_be_visible()  # CSS alone shows the fields
    for field, value in NEW_ADDRESS.items():
        await wizard.new_address_field(field).fill(value)
    await wizard.next_button.click()

    await wizard.expect_step("Vérification", _step("review"))
    await expect(wizard.review).to_contain_text("Produit endommagé")
    await expect(wizard.review).to_contain_text("Fichiers : nas.log")
    await expect(wizard.review).to_contain_text("Agence de Nantes")
    await wizard.validate.click()

    await expect(page).to_have_url(re.compile(r"/incidents/\d{8}\?declared=1$"))
    number = re.search(r"/incidents/(\d{8})", page.url).group(1)
    incident = IncidentPage(page, number, TITLE)
    await incident.expect_shown()
    await expect(incident.declared).to_be_visible()
    await expect(incident.file("nas.log")).to_be_visible()
    await incident.tab("Mon adresse de livraison").click()
    await expect(page).to_have_url(re.compile(rf"/incidents/{number}/address$"))
    await expect(incident.panel("Mon adresse de livraison")).to_contain_text("Agence de Nantes")
    await expect(incident.panel("Mon adresse de livraison")).to_contain_text("44000 Nantes")


async def test_without_javascript_sending_a_file_keeps_the_descriptif_typed(page_without_js):
    """A person writes the description, then adds a file: "Envoyer le fichier" must not lose
    the text (SPEC §3.7: nothing typed is lost)."""
    page = page_without_js
    await _customer()
    await _sign_in(page)
    detail = ContractDetailPage(page, "1001")
    await detail.open()
    await detail.declare_link.click()
    wizard = WizardPage(page)
    await wizard.next_button.click()
    await wizard.declare(TITLE, "Produit défectueux", "NAS0001")
    await wizard.next_button.click()
    await wizard.expect_step("Descriptif et fichiers", _step("description"))

    await wizard.description.fill("LED rouge clignotante.")
    await wizard.dropzone.pick("nas.log", LOG.encode())
    await wizard.dropzone.send_button.click()

    await expect(wizard.dropzone.remove_button("nas.log")).to_be_visible()
    await expect(wizard.description).to_have_value("LED rouge clignotante.")


# --- the incident page -------------------------------------------------------------------------


TAB_SHOWS = {
    "declaration": ("Produit défectueux", "LED rouge clignotante."),
    "address": ("Adresse principale", "69001 Lyon"),
    "contract": ("1001", "TS-131K-1TIW"),
    "reseller": ("Revendeur R1", "r1@example.com"),
    "messages": ("Aucun message pour l'instant.",),
}


async def test_incident_tabs_swap_in_place_and_the_url_follows(page, client):
    number = await _declared(client)
    await _sign_in(page)
    incident = IncidentPage(page, number, TITLE)
    await incident.open()
    await expect(incident.current_tab).to_contain_text("Ma déclaration")
    await mark_document(page)

    for tab in ("address", "contract", "reseller", "messages", "declaration"):
        name = INCIDENT_TABS[tab]
        await incident.tab(name).click()
        await expect(page).to_have_url(re.compile(rf"{re.escape(incident.tab_path(tab))}$"))
        await expect(incident.current_tab).to_have_count(1)
        await expect(incident.current_tab).to_contain_text(name)
        for words in TAB_SHOWS[tab]:
            await expect(incident.panel(name)).to_contain_text(words)
        await expect(incident.heading).to_be_visible()
    await expect_same_document(page)
    await expect_one_layout(page)

    # Back walks the tabs again, each with its own content.
    await page.go_back()
    await expect(page).to_have_url(re.compile(rf"{re.escape(incident.tab_path('messages'))}$"))
    await expect(incident.panel("Messagerie")).to_contain_text("Aucun message pour l'instant.")
    await page.go_back()
    await expect(page).to_have_url(re.compile(rf"{re.escape(incident.tab_path('reseller'))}$"))
    await expect(incident.panel("Mon revendeur")).to_contain_text("Revendeur R1")
    await expect(incident.current_tab).to_contain_text("Mon revendeur")
    await expect_one_layout(page)

    # A deep link to a tab is the whole page on that tab.
    await page.goto(incident.tab_path("contract"))
    await expect(incident.current_tab).to_contain_text("Mon contrat")
    await expect(incident.panel("Mon contrat")).to_contain_text("TS-131K-1TIW")


async def test_focus_stays_on_the_tabs_after_switching(page, client):
    """A keyboard user who opens a tab with Enter stays on the tab list (or in the new panel):
    the swap must not drop the focus to the page's body."""
    number = await _declared(client)
    await _sign_in(page)
    incident = IncidentPage(page, number, TITLE)
    await incident.open()

    await incident.tab("Mon revendeur").focus()
    await page.keyboard.press("Enter")

    await expect(incident.current_tab).to_contain_text("Mon revendeur")
    await expect(page.locator("#incident-tab")).to_be_attached()
    assert await page.evaluate(
        "document.getElementById('incident-tab').contains(document.activeElement)"
    ), "the focus fell out of the tabs: " + await page.evaluate(
        "document.activeElement && document.activeElement.tagName")


async def test_reply_in_messagerie_with_a_file(page, client):
    number = await _declared(client)
    await _sign_in(page)
    incident = IncidentPage(page, number, TITLE)
    await page.goto(incident.tab_path("messages"))
    await expect(incident.current_tab).to_contain_text("Messagerie")
    await mark_document(page)

    await incident.dropzone.pick("smart.txt", b"SMART overall-health: FAILED\n")
    await expect(incident.dropzone.remove_button("smart.txt")).to_be_visible()
    await expect(incident.dropzone.row("smart.txt")).to_contain_text("sera joint à votre message")
    await incident.reply.fill("Voici le rapport SMART du disque.")
    await incident.send.click()

    await expect(incident.sent).to_be_visible()
    message = incident.thread.last
    await expect(incident.thread).to_have_count(1)
    await expect(message).to_contain_text("Voici le rapport SMART du disque.")
    await expect(message).to_contain_text("Admin acme")
    await expect(message.get_by_role("link", name="smart.txt")).to_have_attribute(
        "href", re.compile(rf"^/incidents/{number}/attachments/\d+$"))
    await expect(incident.reply).to_have_value("")
    await expect(incident.dropzone.row("smart.txt")).to_have_count(0)
    await expect(page).to_have_url(re.compile(rf"/incidents/{number}/messages$"))
    await expect_same_document(page)
    rows = await Message.select(Message.id, Message.body)
    assert [r["body"] for r in rows] == ["Voici le rapport SMART du disque."]
    joined = await Attachment.select(Attachment.original_name).where(
        Attachment.message == rows[0]["id"])
    assert joined == [{"original_name": "smart.txt"}]


async def test_reply_with_a_dropped_file_over_20_mb_is_refused_in_the_browser(page, client):
    number = await _declared(client)
    await _sign_in(page)
    incident = IncidentPage(page, number, TITLE)
    await page.goto(incident.tab_path("messages"))
    uploads: list[str] = []
    page.on("request", lambda request: uploads.append(request.url)
            if request.method == "POST" and UPLOAD_URL.search(request.url) else None)

    await incident.dropzone.drop("disque.img.log", size=21 * 1024 * 1024)

    await expect(incident.dropzone.row("disque.img.log")).to_contain_text(TOO_BIG)
    await expect(incident.dropzone.remove_button("disque.img.log")).to_have_count(0)
    assert uploads == []
    assert await Attachment.count() == 0


# --- Accessibility -----------------------------------------------------------------------------


async def _draft_at(page: Page, client, step: str) -> None:
    """A draft filled over HTTP up to `step`, then shown in the browser."""
    await _customer()
    await sign_in(client, "acme_admin")
    draft = await start(client, "1001")
    steps = ("declaration", "description", "address", "review")
    if steps.index(step) > 0:
        ids = await article_ids("1001")
        await post_form(client, f"/incidents/drafts/{draft}/declaration", [
            ("title", TITLE), ("nature", "defective"), ("action", "next"),
            ("articles", str(ids[0]))])
    if steps.index(step) > 1:
        await post_form(client, f"/incidents/drafts/{draft}/description",
                        {"description": "LED rouge.", "action": "next"})
    if steps.index(step) > 2:
        await post_form(client, f"/incidents/drafts/{draft}/address",
                        {"address": "new", "new_label": "Agence", "new_street": "3 quai",
                         "new_city": "Nantes", "new_postal_code": "44000", "new_country": "France",
                         "new_email": "a@example.com", "new_phone": "0240000000", "action": "next"})
    await _sign_in(page)
    await page.goto(f"/incidents/drafts/{draft}/{step}")
    await WizardPage(page).expect_step(
        {"declaration": "Ma déclaration", "description": "Descriptif et fichiers",
         "address": "Mon adresse de livraison", "review": "Vérification"}[step], _step(step))


async def _contract_step(page: Page, client) -> None:
    await _customer()
    await _sign_in(page)
    await page.goto("/contracts/1001/incidents/new")
    await expect(WizardPage(page).step_heading("Mon contrat")).to_be_visible()


async def _declaration_refused(page: Page, client) -> None:
    await _draft_at(page, client, "declaration")
    wizard = WizardPage(page)
    await wizard.next_button.click()
    await expect(wizard.form_alert).to_be_visible()


async def _description_with_files(page: Page, client) -> None:
    await _draft_at(page, client, "description")
    wizard = WizardPage(page)
    await wizard.dropzone.drop("nas.log", text=LOG)
    await wizard.dropzone.drop("sauvegarde.log", size=21 * 1024 * 1024)
    await expect(wizard.dropzone.remove_button("nas.log")).to_be_visible()
    await expect(wizard.dropzone.row("sauvegarde.log")).to_contain_text(TOO_BIG)


async def _address_new(page: Page, client) -> None:
    await _draft_at(page, client, "address")
    wizard = WizardPage(page)
    await wizard.new_address_choice.check()
    await wizard.next_button.click()
    await expect(wizard.form_alert).to_be_visible()


WIZARD_SCREENS = {
    "contract": _contract_step,
    "declaration": lambda page, client: _draft_at(page, client, "declaration"),
    "declaration-refused": _declaration_refused,
    "description": lambda page, client: _draft_at(page, client, "description"),
    "description-with-files": _description_with_files,
    "address": lambda page, client: _draft_at(page, client, "address"),
    "address-new-refused": _address_new,
    "review": lambda page, client: _draft_at(page, client, "review"),
}


@pytest.mark.parametrize("screen", WIZARD_SCREENS)
async def test_wizard_steps_pass_axe(page, client, screen):
    await WIZARD_SCREENS[screen](page, client)

    report = await serious_axe_violations(page)

    assert not report, f"axe found serious or critical violations on {page.url}:\n{report}"


@pytest.mark.parametrize("tab", INCIDENT_TABS)
async def test_incident_page_tabs_pass_axe(page, client, tab):
    number = await _declared(client)
    await post_form(client, f"/incidents/{number}/messages", {"body": "Toujours en panne."})
    await _sign_in(page)
    incident = IncidentPage(page, number, TITLE)
    await incident.open()
    if tab != "declaration":
        await incident.tab(INCIDENT_TABS[tab]).click()  # swapped in, as a person gets there
        await expect(page).to_have_url(re.compile(rf"{re.escape(incident.tab_path(tab))}$"))
    await expect(incident.current_tab).to_contain_text(INCIDENT_TABS[tab])

    report = await serious_axe_violations(page)

    assert not report, f"axe found serious or critical violations on {page.url}:\n{report}"
