"""The reseller view, under /reseller: the same app seen by those who sold the contracts.

Each module holds the controllers of one menu entry and exports ROUTES; the services they call
live in the areas that own the data (contracts, incidents, settings...).
"""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Redirect

from app.web.auth import reseller


@get("/reseller", guards=[reseller], name="reseller_home", include_in_schema=False)
async def reseller_home(request: Request) -> Redirect:
    return Redirect("/reseller/incidents", status_code=303)


def routes() -> list:
    """Every route of the reseller view."""
    from app.reseller import clients, contracts, extensions, incidents, quotes, team

    return [reseller_home, *incidents.ROUTES, *contracts.ROUTES, *clients.ROUTES, *quotes.ROUTES,
            *extensions.ROUTES, *team.ROUTES]
