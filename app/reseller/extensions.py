"""Extensions: the reseller's catalogue of extension offers — create, edit, retire, reactivate.

Every reseller user reads the catalogue; only administrators change it (agents get 403). A
retired offer is no longer proposed on customers' contract pages. Pages swap `#extensions-panel`
with htmx; a saved form answers with the catalogue in place (htmx) or redirects with ?saved=.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.contracts import offers
from app.errors import ValidationFailed
from app.web.auth import current_user, reseller, reseller_admin
from app.web.forms import form_values
from app.web.rendering import render, wants_partial

PANEL = "extensions-panel"
SAVED_MESSAGES = {
    "created": "L'extension est créée : elle est proposée aux clients dont le matériel correspond.",
    "updated": "L'extension est enregistrée.",
    "retired": "L'extension est retirée : elle n'est plus proposée aux clients.",
    "reactivated": "L'extension est de nouveau proposée aux clients.",
}


async def render_panel(request: Request, view: str, *, status_code: int = 200, push_url: str | None = None,
                       **context) -> Template:
    context = {"view": view, "values": {}, "errors": {}, "saved": None, **context}
    if view == "list" and "offers" not in context:
        context["offers"] = await offers.list_offers(current_user(request).reseller_id,
                                                     page=context.pop("page", 1))
    block = "panel" if request.headers.get("hx-target") == PANEL else "content"
    return render(request, "reseller/extensions/page.html", context, status_code=status_code, block=block,
                  push_url=push_url)


def _form_values(offer: offers.OfferRow) -> dict[str, str]:
    return {"code": offer.code, "label": offer.label, "duration_months": str(offer.duration_months),
            "product_references": offer.references_text}


class ExtensionsController(Controller):
    path = "/reseller/extensions"
    guards = [reseller]

    @get("/", name="reseller_extensions")
    async def list_offers(self, request: Request, page: FromQuery[int] = 1, saved: FromQuery[str] = "") -> Template:
        return await render_panel(request, "list", page=page, saved=SAVED_MESSAGES.get(saved))

    @get("/new", guards=[reseller_admin], name="reseller_extension_new")
    async def new(self, request: Request) -> Template:
        return await render_panel(request, "form")

    @post("/", guards=[reseller_admin], name="reseller_extension_create")
    async def create(self, request: Request) -> Response:
        user = current_user(request)
        values = await form_values(request)
        try:
            await offers.create_offer(user.reseller_id, user.id, values)
        except ValidationFailed as refused:
            return await render_panel(request, "form", status_code=422, values=values, errors=refused.errors)
        return await self._saved(request, "created")

    @get("/{offer_id:int}", guards=[reseller_admin], name="reseller_extension_edit")
    async def edit(self, request: Request, offer_id: FromPath[int]) -> Template:
        offer = await offers.reseller_offer(current_user(request).reseller_id, offer_id)
        return await render_panel(request, "form", offer=offer, values=_form_values(offer))

    @post("/{offer_id:int}", guards=[reseller_admin], name="reseller_extension_save")
    async def save(self, request: Request, offer_id: FromPath[int]) -> Response:
        user = current_user(request)
        values = await form_values(request)
        try:
            await offers.update_offer(user.reseller_id, user.id, offer_id, values)
        except ValidationFailed as refused:
            offer = await offers.reseller_offer(user.reseller_id, offer_id)
            return await render_panel(request, "form", status_code=422, offer=offer, values=values,
                                      errors=refused.errors)
        return await self._saved(request, "updated")

    @post("/{offer_id:int}/retire", guards=[reseller_admin], name="reseller_extension_retire")
    async def retire(self, request: Request, offer_id: FromPath[int]) -> Response:
        user = current_user(request)
        await offers.set_offer_active(user.reseller_id, user.id, offer_id, False)
        return await self._saved(request, "retired")

    @post("/{offer_id:int}/reactivate", guards=[reseller_admin], name="reseller_extension_reactivate")
    async def reactivate(self, request: Request, offer_id: FromPath[int]) -> Response:
        user = current_user(request)
        await offers.set_offer_active(user.reseller_id, user.id, offer_id, True)
        return await self._saved(request, "reactivated")

    async def _saved(self, request: Request, saved: str) -> Response:
        if wants_partial(request):
            return await render_panel(request, "list", saved=SAVED_MESSAGES[saved], push_url="/reseller/extensions")
        return Redirect(f"/reseller/extensions?saved={saved}", status_code=303)


ROUTES = [ExtensionsController]
