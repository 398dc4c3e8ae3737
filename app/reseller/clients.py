"""Reseller view: Clients — the companies holding the reseller's contracts, and a page per company.

The company page has two tabs at their own URLs (its contracts with this reseller, its incidents on
them), each a paginated list swapped in place by htmx. A company that holds none of the reseller's
contracts answers 404, like one that does not exist.
"""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app.contracts import reseller_services as services
from app.web.auth import current_user, reseller
from app.web.formatting import today_paris
from app.web.rendering import render

TABS = {"contracts": "Contrats", "incidents": "Incidents"}


async def _client_page(request: Request, company_id: int, tab: str, page: int) -> Template:
    user = current_user(request)
    client = await services.client_detail(user.reseller_id, company_id)
    context = {"client": client, "tab": tab, "tabs": TABS, "today": today_paris()}
    if tab == "contracts":
        context["contracts"] = await services.list_contracts(user.reseller_id, company_id=company_id, page=page)
    else:
        context["incidents"] = await services.client_incidents(user.reseller_id, company_id, page=page)
    return render(request, "reseller/clients/detail.html", context,
                  block="tab" if request.headers.get("hx-target") == "client-tab" else "content")


class ResellerClientController(Controller):
    path = "/reseller/clients"
    guards = [reseller]

    @get("/", name="reseller_clients")
    async def list_clients(self, request: Request, q: FromQuery[str] = "",
                           page: FromQuery[int] = 1) -> Template:
        user = current_user(request)
        clients = await services.list_clients(user.reseller_id, query=q, page=page)
        return render(request, "reseller/clients/list.html", {"clients": clients, "query": q.strip()},
                      block="results" if request.headers.get("hx-target") == "client-results" else "content")

    @get("/{company_id:int}", name="reseller_client")
    async def contracts(self, request: Request, company_id: FromPath[int],
                        page: FromQuery[int] = 1) -> Template:
        return await _client_page(request, company_id, "contracts", page)

    @get("/{company_id:int}/incidents", name="reseller_client_incidents")
    async def incidents(self, request: Request, company_id: FromPath[int],
                        page: FromQuery[int] = 1) -> Template:
        return await _client_page(request, company_id, "incidents", page)


ROUTES = [ResellerClientController]
