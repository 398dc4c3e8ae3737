"""Page objects: each screen as a person finds it, by its visible French labels.

A label changed in a template is fixed here, once. Locators are the accessible ones (role and
name, label), so a test also fails when a field loses its label or a button its name. Fields
whose label repeats on a page (Email, Téléphone…) are found inside their fieldset (its legend).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from playwright.async_api import Locator, Page, expect


def label(text: str) -> re.Pattern[str]:
    """A field's label as shown: `text`, followed by the required-field star when there is one."""
    return re.compile(rf"^{re.escape(text)}(\s*\*)?$")


class Screen:
    """A full page at its own URL, recognised by its main heading."""

    path = "/"
    title = ""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def heading(self) -> Locator:
        return self.page.get_by_role("heading", level=1, name=self.title, exact=True)

    async def open(self) -> None:
        await self.page.goto(self.path)
        await self.expect_shown()

    async def expect_shown(self) -> None:
        await expect(self.heading).to_be_visible()

    def error_beside(self, name: str) -> Locator:
        """The message printed next to field `name` (a sibling of the input, in its `.field`)."""
        return self.page.locator(f"#f-{name} ~ p.error")

    @property
    def form_alert(self) -> Locator:
        return self.page.locator("main").get_by_role("alert")


class SignedInScreen(Screen):
    """Any page of the signed-in layout: left menu with Déconnexion."""

    @property
    def menu(self) -> Locator:
        return self.page.get_by_role("navigation", name="Menu principal")

    def menu_link(self, name: str) -> Locator:
        return self.menu.get_by_role("link", name=name, exact=True)

    @property
    def sign_out_button(self) -> Locator:
        return self.menu.get_by_role("button", name="Déconnexion", exact=True)

    async def sign_out(self) -> None:
        await self.sign_out_button.click()


class LoginPage(Screen):
    """Se connecter (SPEC §3.1)."""

    path = "/login"
    title = "Se connecter"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.username = page.get_by_label(label("Identifiant"))
        self.password = page.get_by_label(label("Mot de passe"))
        self.remember = page.get_by_label(label("Se souvenir de moi"))
        self.submit = page.get_by_role("button", name="Connexion", exact=True)
        self.forgot_link = page.get_by_role("link", name="Mot de passe oublié ?", exact=True)
        self.register_link = page.get_by_role("link", name="Créer un compte", exact=True)
        self.error = self.form_alert

    async def sign_in(self, username: str, password: str, *, remember: bool = False) -> None:
        await self.username.fill(username)
        await self.password.fill(password)
        if remember:
            await self.remember.check()
        await self.submit.click()


@dataclass
class Registration:
    """What a person types in the registration form, keyed by the form's field names."""

    company_name: str = "Garage Martin SARL"
    company_street: str = "12 rue des Lilas"
    company_complement: str = "Bâtiment B"
    company_city: str = "Nantes"
    company_postal_code: str = "44000"
    company_country: str = "France"
    company_email: str = "contact@garage-martin.fr"
    company_phone: str = "02 40 00 00 00"
    first_name: str = "Sophie"
    last_name: str = "Martin"
    email: str = "sophie.martin@garage-martin.fr"
    phone: str = "06 12 34 56 78"
    username: str = "sophie.martin"
    password: str = "une phrase de passe assez longue"
    password_confirm: str = "une phrase de passe assez longue"
    serial: str = "Q207B17555"

    def values(self) -> dict[str, str]:
        return asdict(self)


SECRET_FIELDS = ("password", "password_confirm")


class RegisterPage(Screen):
    """Création d'un nouveau compte (SPEC §3.2): three fieldsets, Créer mon compte."""

    path = "/register"
    title = "Création d'un nouveau compte"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        company = page.get_by_role("group", name="Mon entreprise", exact=True)
        user = page.get_by_role("group", name="Mon compte utilisateur", exact=True)
        contract = page.get_by_role("group", name="Mon contrat de service", exact=True)
        self.fields: dict[str, Locator] = {
            "company_name": company.get_by_label(label("Nom / Raison sociale")),
            "company_street": company.get_by_label(label("N° et nom de rue")),
            "company_complement": company.get_by_label(label("Complément d'adresse")),
            "company_city": company.get_by_label(label("Ville")),
            "company_postal_code": company.get_by_label(label("Code postal")),
            "company_country": company.get_by_label(label("Pays")),
            "company_email": company.get_by_label(label("Email")),
            "company_phone": company.get_by_label(label("Téléphone")),
            "first_name": user.get_by_label(label("Prénom")),
            "last_name": user.get_by_label(label("Nom")),
            "email": user.get_by_label(label("Email")),
            "phone": user.get_by_label(label("Téléphone")),
            "username": user.get_by_label(label("Identifiant")),
            "password": user.get_by_label(label("Mot de passe")),
            "password_confirm": user.get_by_label(label("Confirmer le mot de passe")),
            "serial": contract.get_by_label(label("N° de série du NAS")),
        }
        self.submit = page.get_by_role("button", name="Créer mon compte", exact=True)
        self.sign_in_link = page.get_by_role("link", name="J'ai déjà un compte", exact=True)

    def field(self, name: str) -> Locator:
        return self.fields[name]

    async def fill(self, registration: Registration) -> None:
        for name, value in registration.values().items():
            await self.fields[name].fill(value)

    async def register(self, registration: Registration) -> None:
        await self.fill(registration)
        await self.submit.click()

    async def expect_kept(self, registration: Registration) -> None:
        """A refused form shows every typed value again, passwords excepted (left empty)."""
        for name, value in registration.values().items():
            await expect(self.fields[name]).to_have_value("" if name in SECRET_FIELDS else value)

    async def expect_error_beside(self, name: str, message: str) -> None:
        """`message` next to field `name`, and announced with it (its accessible description)."""
        await expect(self.error_beside(name)).to_contain_text(message)
        await expect(self.fields[name]).to_have_attribute("aria-invalid", "true")
        await expect(self.fields[name]).to_have_accessible_description(
            re.compile(re.escape(message))
        )


class ContractsPage(SignedInScreen):
    """Mes contrats (SPEC §3.4): the company's contracts in a table."""

    path = "/contracts"
    title = "Mes contrats"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.table = page.get_by_role("table", name="Contrats de service de votre société")
        self.welcome = page.get_by_role("status").filter(has_text="Votre compte est créé")

    def row(self, number: str) -> Locator:
        """The table row of contract `number`."""
        return self.table.get_by_role("row").filter(
            has=self.page.get_by_role("cell", name=number, exact=True)
        )

    async def expect_contract(self, number: str, nas_serial: str) -> None:
        row = self.row(number)
        await expect(row).to_have_count(1)
        await expect(row.get_by_role("cell", name=nas_serial, exact=True)).to_be_visible()


# --- what every signed-in screen shares ----------------------------------------------------------


async def mark_document(page: Page) -> None:
    """Leave a mark on the current document: a full page load wipes it, an htmx swap keeps it."""
    await page.evaluate("window.__sameDocument = true")


async def expect_same_document(page: Page) -> None:
    """The page changed by an htmx swap, not by a full reload (the mark is still there)."""
    assert await page.evaluate("window.__sameDocument === true"), \
        f"{page.url} was reached by a full page load, not an htmx swap"


async def expect_one_layout(page: Page) -> None:
    """Exactly one menu, one header and one main region: no page nested in a page after a swap."""
    await expect(page.get_by_role("navigation", name="Menu principal")).to_have_count(1)
    await expect(page.get_by_role("banner")).to_have_count(1)
    await expect(page.get_by_role("main")).to_have_count(1)


SERIOUS_IMPACTS = ("serious", "critical")


async def serious_axe_violations(page: Page) -> str:
    """axe-core on the page as it stands: its serious or critical violations, one per line
    (an empty string when there is none)."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in SERIOUS_IMPACTS]
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}"
                    for node in v["nodes"])
        for v in serious
    )


class Header:
    """The signed-in top bar: Activer mon contrat, the notification bell."""

    def __init__(self, page: Page) -> None:
        self.bar = page.get_by_role("banner")
        self.activate = self.bar.get_by_role("link", name="Activer mon contrat", exact=True)


# --- Mes contrats and the contract page -----------------------------------------------------------


class ContractList(ContractsPage):
    """Mes contrats with its search, its "Voir le contrat" links and its pager."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.search = page.get_by_role("searchbox", name="Rechercher un contrat", exact=True)
        self.search_button = page.get_by_role("button", name="Rechercher", exact=True)
        self.results = page.locator("#contract-results")
        self.body_rows = self.table.locator("tbody").get_by_role("row")
        self.no_match = self.results.locator("p.empty")
        self.pager = page.get_by_role("navigation", name="Pagination")
        self.next_page = self.pager.get_by_role("link", name="Suivant", exact=True)
        self.previous_page = self.pager.get_by_role("link", name="Précédent", exact=True)

    def detail_link(self, number: str) -> Locator:
        return self.page.get_by_role("link", name=f"Voir le contrat n°{number}", exact=True)

    async def expect_numbers(self, *numbers: str) -> None:
        """Exactly these contracts are listed, in this order."""
        await expect(self.body_rows.locator("td:first-child")).to_have_text(list(numbers))


class ContractDetailPage(SignedInScreen):
    """Mes contrats > Contrat n°… (SPEC §3.5)."""

    def __init__(self, page: Page, number: str, product: str = "TS-131K-1TIW") -> None:
        super().__init__(page)
        self.number = number
        self.path = f"/contracts/{number}"
        self.title = f"Contrat pour {product}"
        self.breadcrumb = page.get_by_role("navigation", name="Fil d'Ariane")
        self.list_link = self.breadcrumb.get_by_role("link", name="Mes contrats", exact=True)
        self.declare_link = page.get_by_role("link", name="Déclarer un incident", exact=True)
        self.declare_refused = page.get_by_role("button", name="Déclarer un incident", exact=True)
        self.resume_link = page.get_by_role("link", name="Reprendre ma déclaration", exact=True)
        self.articles_heading = page.get_by_role("heading", name="Articles", exact=True)
        self.articles = page.locator("ul.articles > li")
        self.activated = page.get_by_role("status").filter(
            has_text="est maintenant dans votre espace")
        self.extensions = page.get_by_role("region", name="Extensions disponibles")
        self.quote_sent = self.extensions.get_by_role("status")
        self.quotes_table = self.extensions.get_by_role("table")

    def quote_button(self, offer_code: str) -> Locator:
        return self.extensions.get_by_role(
            "button", name=f"Demander un devis pour {offer_code}", exact=True
        )

    def article(self, serial: str) -> Locator:
        return self.articles.filter(has_text=serial)


class ActivationDialog:
    """Activer mon contrat as a modal dialog (JavaScript on)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialog = page.get_by_role("dialog", name="Activer mon contrat")
        self.serial = self.dialog.get_by_label(label("N° de série du NAS"))
        self.submit = self.dialog.get_by_role("button", name="Activer le contrat", exact=True)
        self.close_button = self.dialog.get_by_role("button", name="Fermer", exact=True)
        self.error = self.dialog.locator("#f-serial ~ p.error")
        self.help_link = self.dialog.get_by_role(
            "link", name="Comment trouver mon numéro de série ?", exact=True
        )

    async def activate(self, serial: str) -> None:
        await self.serial.fill(serial)
        await self.submit.click()

    async def is_modal(self) -> bool:
        return await self.dialog.evaluate("dialog => dialog.open && dialog.matches(':modal')")


class ActivationPage(SignedInScreen):
    """Activer mon contrat as a page of its own (JavaScript off)."""

    path = "/contracts/activate"
    title = "Activer mon contrat"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.serial = page.get_by_label(label("N° de série du NAS"))
        self.submit = page.get_by_role("button", name="Activer le contrat", exact=True)

    async def activate(self, serial: str) -> None:
        await self.serial.fill(serial)
        await self.submit.click()


class SerialHelpPage(Screen):
    """Trouver mon numéro de série (SPEC §3.3): public, three drawings of our own."""

    path = "/help/serial-number"
    title = "Trouver mon numéro de série"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.drawings = page.get_by_role("main").locator("figure img")


# --- Déclarer un incident ---------------------------------------------------------------------


class DropZone:
    """A "Fichiers" drop zone: the file input inside `.dropzone`, and the list of its files."""

    def __init__(self, page: Page, list_name: str) -> None:
        self.page = page
        self.zone = page.locator(".dropzone")
        self.input = page.locator("#f-file")
        self.files = page.get_by_role("list", name=list_name, exact=True)
        self.send_button = page.get_by_role("button", name="Envoyer le fichier", exact=True)

    def row(self, name: str) -> Locator:
        return self.files.get_by_role("listitem").filter(has_text=name)

    def progress(self, name: str) -> Locator:
        return self.page.get_by_role("progressbar", name=f"Envoi de {name}", exact=True)

    def remove_button(self, name: str) -> Locator:
        return self.row(name).get_by_role("button", name=f"Retirer {name}", exact=True)

    async def pick(self, name: str, content: bytes, mime_type: str = "text/plain") -> None:
        """Choose a file with the picker (the file input)."""
        await self.input.set_input_files({"name": name, "mimeType": mime_type, "buffer": content})

    async def drop(self, name: str, *, text: str = "", size: int | None = None) -> None:
        """Drag a file onto the zone and drop it: a `drop` event carrying a DataTransfer built in
        the page, holding `text` or, when `size` is given, that many zero bytes."""
        transfer = await self.page.evaluate_handle(
            """([name, text, size]) => {
                const transfer = new DataTransfer();
                const body = size === null ? [text] : [new Uint8Array(size)];
                transfer.items.add(new File(body, name, { type: "text/plain" }));
                return transfer;
            }""",
            [name, text, size],
        )
        await self.zone.dispatch_event("dragover", {"dataTransfer": transfer})
        await self.zone.dispatch_event("drop", {"dataTransfer": transfer})


class WizardPage(SignedInScreen):
    """Déclarer un incident: one step at a time inside `#wizard-step` (SPEC §3.7)."""

    title = "Déclarer un incident"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.step = page.locator("#wizard-step")
        self.steps = page.get_by_role("list", name="Étapes de la déclaration")
        self.current_step = self.steps.locator('[aria-current="step"]')
        self.next_button = page.get_by_role("button", name="Suivant", exact=True)
        self.previous_button = page.get_by_role("button", name="Précédent", exact=True)
        # Ma déclaration
        self.title_field = page.get_by_label(label("Intitulé"))
        self.nature = page.get_by_label(label("Nature de l'incident"))
        self.articles = page.get_by_role("group", name=label("Produit(s) concerné(s)"))
        # Descriptif et fichiers
        self.description = page.get_by_label(label("Descriptif"))
        self.dropzone = DropZone(page, "Fichiers joints")
        # Mon adresse de livraison
        self.addresses = page.get_by_role("group", name=label("Sélectionnez une adresse"))
        self.new_address_choice = page.get_by_role("radio", name=re.compile(r"^Nouvelle adresse"))
        self.new_address = page.get_by_role("group", name="Nouvelle adresse", exact=True)
        # Vérification
        self.review = page.locator("dl.review")
        self.validate = page.get_by_role("button", name="Valider ma déclaration", exact=True)

    def step_heading(self, name: str) -> Locator:
        return self.step.get_by_role("heading", level=2, name=name, exact=True)

    async def expect_step(self, name: str, path: re.Pattern[str] | str) -> None:
        await expect(self.step_heading(name)).to_be_visible()
        await expect(self.current_step).to_contain_text(name)
        await expect(self.page).to_have_url(path)

    def article(self, serial: str) -> Locator:
        return self.articles.get_by_role("checkbox", name=re.compile(re.escape(serial)))

    def address(self, address_label: str) -> Locator:
        name = re.compile(rf"^{re.escape(address_label)}\b")
        return self.addresses.get_by_role("radio", name=name)

    def new_address_field(self, text: str) -> Locator:
        return self.new_address.get_by_label(label(text))

    async def declare(self, title: str, nature: str, *serials: str) -> None:
        """Fill Ma déclaration (without going on)."""
        await self.title_field.fill(title)
        await self.nature.select_option(label=nature)
        for serial in serials:
            await self.article(serial).check()


# --- the incident page --------------------------------------------------------------------------


INCIDENT_TABS = {
    "declaration": "Ma déclaration",
    "address": "Mon adresse de livraison",
    "contract": "Mon contrat",
    "reseller": "Mon revendeur",
    "messages": "Messagerie",
}


class IncidentPage(SignedInScreen):
    """Mes Incidents > Incident n° … (SPEC §3.9): status banner, five tabs, Messagerie."""

    def __init__(self, page: Page, number: str, title: str) -> None:
        super().__init__(page)
        self.number = number
        self.path = f"/incidents/{number}"
        self.title = title
        self.breadcrumb = page.get_by_role("navigation", name="Fil d'Ariane")
        self.declared = page.get_by_role("status").filter(
            has_text="a été transmise à votre revendeur")
        self.tabs = page.get_by_role("navigation", name="Sections de l'incident")
        self.current_tab = self.tabs.locator('[aria-current="page"]')
        # Ma déclaration: its files
        self.files = page.locator("ul.files")
        # Messagerie
        self.thread = page.locator("ol.thread > li")
        self.reply = page.get_by_label(label("Votre message"))
        self.send = page.get_by_role("button", name="Envoyer", exact=True)
        self.sent = page.get_by_role("status").filter(has_text="Votre message a été envoyé")
        self.dropzone = DropZone(page, "Fichiers joints au message")

    def tab_path(self, tab: str) -> str:
        return self.path if tab == "declaration" else f"{self.path}/{tab}"

    def tab(self, name: str) -> Locator:
        """A tab's link, by its label (its accessible name starts with the tab's index)."""
        return self.tabs.get_by_role("link", name=re.compile(rf"^\d+\s+{re.escape(name)}$"))

    def panel(self, name: str) -> Locator:
        return self.page.get_by_role("region", name=name, exact=True)

    def file(self, name: str) -> Locator:
        return self.files.get_by_role("listitem").filter(has_text=name)
