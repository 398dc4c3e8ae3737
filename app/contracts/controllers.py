"""Mes contrats, the contract page, Activer mon contrat, Demander un devis, the serial-number help."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.contracts import services
from app.errors import ValidationFailed
from app.incidents.wizard import draft_for_contract
from app.web.auth import current_user, customer, customer_admin
from app.web.formatting import today_paris
from app.web.forms import client_ip, form_values
from app.web.rendering import render


class ContractController(Controller):
    path = "/contracts"
    guards = [customer]

    @get("/", name="contracts")
    async def list_contracts(self, request: Request, q: FromQuery[str] = "", page: FromQuery[int] = 1,
                             welcome: FromQuery[bool] = False) -> Template:
        user = current_user(request)
        contracts = await services.list_company_contracts(user.company_id, query=q, page=page)
        target = request.headers.get("hx-target")
        return render(
            request,
            "contracts/list.html",
            {"contracts": contracts, "query": q.strip(), "today": today_paris(), "welcome": welcome},
            block="results" if target == "contract-results" else "content",
        )

    @get("/{number:str}", name="contract")
    async def show(self, request: Request, number: FromPath[str], activated: FromQuery[bool] = False) -> Template:
        return await self._detail(request, number, {"activated": activated})

    async def _detail(self, request: Request, number: str, extra: dict, status_code: int = 200) -> Template:
        user = current_user(request)
        contract = await services.contract_detail(user.company_id, number)
        draft = await draft_for_contract(user, contract.id) if user.is_admin else None
        context = {"contract": contract, "protection": contract.protection(today_paris()),
                   "draft": draft, "quote_errors": {}, "quote_sent": None, **extra}
        target = request.headers.get("hx-target")
        return render(request, "contracts/detail.html", context, status_code=status_code,
                      block="extensions" if target == "extensions" else "content")

    @post("/{number:str}/quotes", name="quote_request", guards=[customer_admin])
    async def request_quote(self, request: Request, number: FromPath[str]) -> Template:
        user = current_user(request)
        values = await form_values(request)
        try:
            offer_id = int(values.get("offer", ""))
        except ValueError:
            offer_id = 0
        try:
            quote = await services.request_quote(user.company_id, user.id, number, offer_id)
        except ValidationFailed as refused:
            return await self._detail(request, number, {"quote_errors": refused.errors}, status_code=422)
        return await self._detail(request, number, {"quote_sent": quote})


class ActivationController(Controller):
    path = "/contracts/activate"
    guards = [customer_admin]

    @get("/", name="activate")
    async def form(self, request: Request) -> Template:
        return render(request, "contracts/activate.html", {"values": {}, "errors": {}},
                      block="dialog" if request.headers.get("hx-target") == "dialog-slot" else "content")

    @post("/")
    async def activate(self, request: Request) -> Response:
        user = current_user(request)
        values = await form_values(request)
        try:
            number = await services.activate_contract(user.company_id, user.id, values.get("serial", ""),
                                                      ip=client_ip(request))
        except ValidationFailed as refused:
            return render(request, "contracts/activate.html", {"values": values, "errors": refused.errors},
                          status_code=422,
                          block="dialog_form" if request.headers.get("hx-target") == "activation-form"
                          else "content")
        location = f"/contracts/{number}?activated=1"
        if request.headers.get("hx-request") == "true":
            return Response(content=b"", status_code=200, headers={"HX-Location": location})
        return Redirect(location, status_code=303)


@get("/help/serial-number", name="serial_help")
async def serial_help(request: Request) -> Template:
    """Trouver mon numéro de série: public, linked from registration and activation."""
    return render(request, "contracts/serial_help.html")
