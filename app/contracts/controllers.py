"""Mes contrats: the customer's contracts."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Template

from app.contracts import services
from app.web.auth import current_user, customer
from app.web.formatting import today_paris
from app.web.rendering import render


class ContractController(Controller):
    path = "/contracts"
    guards = [customer]

    @get("/", name="contracts")
    async def list_contracts(self, request: Request, welcome: FromQuery[bool] = False) -> Template:
        user = current_user(request)
        contracts = await services.list_company_contracts(user.company_id)
        return render(
            request,
            "contracts/list.html",
            {"contracts": contracts, "today": today_paris(), "welcome": welcome},
        )
