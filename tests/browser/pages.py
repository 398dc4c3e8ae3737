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
