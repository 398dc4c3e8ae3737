"""Devis: the quote requests made on this reseller's contracts, answered and closed by its staff.

Agents handle customers, so they answer and close as administrators do. The list and a request's
page are full pages at their own URLs and htmx swaps of `#quotes-panel`; an answer or a closing
answers in place (htmx) or redirects to the request with ?saved= (plain post).
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.contracts import offers
from app.errors import ValidationFailed
from app.web.auth import current_user, reseller
from app.web.forms import form_values
from app.web.rendering import render, wants_partial

PANEL = "quotes-panel"
SAVED_MESSAGES = {
    "answered": "Votre réponse est envoyée : le client la voit sur la page du contrat et en est notifié.",
    "closed": "La demande est close.",
}


async def render_panel(request: Request, view: str, *, status_code: int = 200, push_url: str | None = None,
                       **context) -> Template:
    context = {"view": view, "labels": offers.QUOTE_STATUS_LABELS, "values": {}, "errors": {}, "saved": None,
               **context}
    block = "panel" if request.headers.get("hx-target") == PANEL else "content"
    return render(request, "reseller/quotes/page.html", context, status_code=status_code, block=block,
                  push_url=push_url)


class QuotesController(Controller):
    path = "/reseller/quotes"
    guards = [reseller]

    @get("/", name="reseller_quotes")
    async def list_quotes(self, request: Request, status: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
        status = status if status in offers.QUOTE_STATUS_LABELS else ""
        quotes = await offers.list_quotes(current_user(request).reseller_id, status=status, page=page)
        return await render_panel(request, "list", quotes=quotes, status=status)

    @get("/{quote_id:int}", name="reseller_quote")
    async def show(self, request: Request, quote_id: FromPath[int], saved: FromQuery[str] = "") -> Template:
        return await self._detail(request, quote_id, saved=SAVED_MESSAGES.get(saved))

    @post("/{quote_id:int}/answer", name="reseller_quote_answer")
    async def answer(self, request: Request, quote_id: FromPath[int]) -> Response:
        user = current_user(request)
        values = await form_values(request)
        try:
            await offers.answer_quote(user.reseller_id, user.id, quote_id, values)
        except ValidationFailed as refused:
            return await self._detail(request, quote_id, status_code=422, values=values, errors=refused.errors)
        return await self._saved(request, quote_id, "answered")

    @post("/{quote_id:int}/close", name="reseller_quote_close")
    async def close(self, request: Request, quote_id: FromPath[int]) -> Response:
        user = current_user(request)
        try:
            await offers.close_quote(user.reseller_id, user.id, quote_id)
        except ValidationFailed as refused:
            return await self._detail(request, quote_id, status_code=422, errors=refused.errors)
        return await self._saved(request, quote_id, "closed")

    async def _detail(self, request: Request, quote_id: int, *, status_code: int = 200, **context) -> Template:
        quote = await offers.reseller_quote(current_user(request).reseller_id, quote_id)
        return await render_panel(request, "detail", status_code=status_code, quote=quote, **context)

    async def _saved(self, request: Request, quote_id: int, saved: str) -> Response:
        if wants_partial(request):
            return await self._detail(request, quote_id, saved=SAVED_MESSAGES[saved])
        return Redirect(f"/reseller/quotes/{quote_id}?saved={saved}", status_code=303)


ROUTES = [QuotesController]
