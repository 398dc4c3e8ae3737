"""Paramètres: four tabs at their own URLs, each an htmx partial and a full page without JavaScript.

A saved form answers in place with a confirmation (htmx) or redirects to its tab with ?saved=
(plain post); a refused one comes back with messages beside the fields and the values kept.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.errors import ValidationFailed
from app.settings import services
from app.web.auth import current_user, customer, customer_admin
from app.web.forms import client_ip, form_values
from app.web.rendering import render, wants_partial

TABS = {
    "profile": "Profil",
    "company": "Société",
    "users": "Utilisateurs",
    "addresses": "Adresses de livraison",
}
SAVED_MESSAGES = {
    "profile": "Vos informations sont enregistrées.",
    "password": "Votre mot de passe est changé. Vos autres sessions ont été fermées.",
    "company": "Les informations de la société sont enregistrées.",
    "user-invited": "L'utilisateur est créé : il a reçu un e-mail pour choisir son mot de passe.",
    "user-updated": "L'utilisateur est enregistré.",
    "user-deactivated": "L'utilisateur est désactivé : ses sessions ont été fermées.",
    "user-reactivated": "L'utilisateur est réactivé.",
    "invitation": "L'invitation a été renvoyée.",
    "address-created": "L'adresse est ajoutée.",
    "address-updated": "L'adresse est enregistrée.",
    "address-archived": "L'adresse est archivée : elle ne sera plus proposée.",
    "address-default": "C'est maintenant l'adresse par défaut.",
}
SECRET_FIELDS = ("confirm_password", "current_password", "password", "password_confirm")


async def _tab_context(request: Request, tab: str, view: str) -> dict:
    user = current_user(request)
    context: dict = {"tab": tab, "tabs": TABS, "view": view, "role_labels": services.ROLE_LABELS}
    if tab == "profile":
        context["profile"] = await services.profile(user)
    elif tab == "company":
        context["company"] = await services.company(user.company_id)
    elif tab == "users":
        context["users"] = await services.list_users(user.company_id)
    elif tab == "addresses":
        context["addresses"] = await services.list_addresses(user.company_id)
    return context


async def render_tab(request: Request, tab: str, *, view: str = "list", status_code: int = 200,
                     **extra) -> Template:
    context = {**await _tab_context(request, tab, view), "values": {}, "errors": {}, "saved": None, **extra}
    target = request.headers.get("hx-target")
    return render(request, "settings/page.html", context, status_code=status_code,
                  block="tab" if target == "settings-tab" else "content")


async def _answer(request: Request, tab: str, saved: str, *, redirect: str | None = None) -> Response:
    if wants_partial(request):
        return await render_tab(request, tab, saved=SAVED_MESSAGES[saved])
    return Redirect(f"{redirect or '/settings/' + tab}?saved={saved}", status_code=303)


async def _refused(request: Request, tab: str, refused: ValidationFailed, values: dict, *,
                   view: str = "list", **extra) -> Template:
    kept = {k: v for k, v in values.items() if k not in SECRET_FIELDS}
    return await render_tab(request, tab, view=view, status_code=422, values=kept, errors=refused.errors, **extra)


class SettingsController(Controller):
    path = "/settings"
    guards = [customer]

    @get("/", name="settings")
    async def index(self) -> Redirect:
        return Redirect("/settings/profile", status_code=303)

    # Each tab has its own GET route: a static POST path would shadow a /{tab} parameter.
    @get("/profile", name="settings_profile")
    async def profile(self, request: Request, saved: FromQuery[str] = "") -> Template:
        return await render_tab(request, "profile", saved=SAVED_MESSAGES.get(saved))

    @get("/company", name="settings_company")
    async def company(self, request: Request, saved: FromQuery[str] = "") -> Template:
        return await render_tab(request, "company", saved=SAVED_MESSAGES.get(saved))

    # Profil: every user edits their own.
    @post("/profile", name="profile_save")
    async def save_profile(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            await services.update_profile(current_user(request), values)
        except ValidationFailed as refused:
            return await _refused(request, "profile", refused, values)
        return await _answer(request, "profile", "profile")

    @post("/password", name="password_change")
    async def change_password(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            await services.change_password(current_user(request), values.get("current_password", ""),
                                           values.get("password", ""), values.get("password_confirm", ""),
                                           ip=client_ip(request))
        except ValidationFailed as refused:
            return await _refused(request, "profile", refused, values)
        return await _answer(request, "profile", "password")

    # Société
    @post("/company", guards=[customer_admin], name="company_save")
    async def save_company(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            await services.update_company(current_user(request), values)
        except ValidationFailed as refused:
            return await _refused(request, "company", refused, values)
        return await _answer(request, "company", "company")


class UsersController(Controller):
    path = "/settings/users"
    guards = [customer]

    @get("/", name="settings_users")
    async def list_users(self, request: Request, saved: FromQuery[str] = "") -> Template:
        return await render_tab(request, "users", saved=SAVED_MESSAGES.get(saved))

    @get("/new", guards=[customer_admin], name="user_new")
    async def new(self, request: Request) -> Template:
        return await render_tab(request, "users", view="new")

    @post("/", guards=[customer_admin], name="user_create")
    async def create(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            await services.invite_user(current_user(request), values, ip=client_ip(request))
        except ValidationFailed as refused:
            return await _refused(request, "users", refused, values, view="new")
        return await _answer(request, "users", "user-invited")

    @get("/{user_id:int}", guards=[customer_admin], name="user_edit")
    async def edit(self, request: Request, user_id: FromPath[int]) -> Template:
        target = await services.company_user(current_user(request), user_id)
        return await render_tab(request, "users", view="edit", target=target, values=target)

    @post("/{user_id:int}", guards=[customer_admin], name="user_save")
    async def save(self, request: Request, user_id: FromPath[int]) -> Response:
        user = current_user(request)
        values = await form_values(request)
        try:
            await services.update_user(user, user_id, values)
        except ValidationFailed as refused:
            target = await services.company_user(user, user_id)
            return await _refused(request, "users", refused, values, view="edit", target=target)
        return await _answer(request, "users", "user-updated")

    @post("/{user_id:int}/deactivate", guards=[customer_admin], name="user_deactivate")
    async def deactivate(self, request: Request, user_id: FromPath[int]) -> Response:
        return await self._set_active(request, user_id, False)

    @post("/{user_id:int}/reactivate", guards=[customer_admin], name="user_reactivate")
    async def reactivate(self, request: Request, user_id: FromPath[int]) -> Response:
        return await self._set_active(request, user_id, True)

    async def _set_active(self, request: Request, user_id: int, active: bool) -> Response:
        user = current_user(request)
        try:
            await services.set_active(user, user_id, active, ip=client_ip(request))
        except ValidationFailed as refused:
            target = await services.company_user(user, user_id)
            return await _refused(request, "users", refused, target, view="edit", target=target)
        return await _answer(request, "users", "user-reactivated" if active else "user-deactivated")

    @post("/{user_id:int}/invitation", guards=[customer_admin], name="user_invitation")
    async def resend(self, request: Request, user_id: FromPath[int]) -> Response:
        user = current_user(request)
        try:
            await services.resend_invitation(user, user_id)
        except ValidationFailed as refused:
            target = await services.company_user(user, user_id)
            return await _refused(request, "users", refused, target, view="edit", target=target)
        return await _answer(request, "users", "invitation")


class AddressesController(Controller):
    path = "/settings/addresses"
    guards = [customer]

    @get("/", name="settings_addresses")
    async def list_addresses(self, request: Request, saved: FromQuery[str] = "") -> Template:
        return await render_tab(request, "addresses", saved=SAVED_MESSAGES.get(saved))

    @get("/new", guards=[customer_admin], name="address_new")
    async def new(self, request: Request) -> Template:
        return await render_tab(request, "addresses", view="new")

    @post("/", guards=[customer_admin], name="address_create")
    async def create(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            await services.create_address(current_user(request), values)
        except ValidationFailed as refused:
            return await _refused(request, "addresses", refused, values, view="new")
        return await _answer(request, "addresses", "address-created")

    @get("/{address_id:int}", guards=[customer_admin], name="address_edit")
    async def edit(self, request: Request, address_id: FromPath[int]) -> Template:
        address = await services.company_address(current_user(request).company_id, address_id)
        return await render_tab(request, "addresses", view="edit", address=address, values=address)

    @post("/{address_id:int}", guards=[customer_admin], name="address_save")
    async def save(self, request: Request, address_id: FromPath[int]) -> Response:
        user = current_user(request)
        values = await form_values(request)
        try:
            await services.update_address(user, address_id, values)
        except ValidationFailed as refused:
            address = await services.company_address(user.company_id, address_id)
            return await _refused(request, "addresses", refused, values, view="edit", address=address)
        return await _answer(request, "addresses", "address-updated")

    @post("/{address_id:int}/archive", guards=[customer_admin], name="address_archive")
    async def archive(self, request: Request, address_id: FromPath[int]) -> Response:
        return await self._act(request, address_id, services.archive_address, "address-archived")

    @post("/{address_id:int}/default", guards=[customer_admin], name="address_default")
    async def make_default(self, request: Request, address_id: FromPath[int]) -> Response:
        return await self._act(request, address_id, services.make_default, "address-default")

    async def _act(self, request: Request, address_id: int, action, saved: str) -> Response:
        user = current_user(request)
        try:
            await action(user, address_id)
        except ValidationFailed as refused:
            return await _refused(request, "addresses", refused, {})
        return await _answer(request, "addresses", saved)
