"""Équipe: the reseller's users (Administrateur | Agent), invited by e-mail, edited, deactivated.

The rules are the customer's Utilisateurs tab's (app/settings/team.py): an invitation link to
choose a password, the last active administrator kept, deactivation ending sessions at once.
Every reseller user sees the team; only administrators change it (agents get 403).
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.errors import ValidationFailed
from app.settings import team
from app.web.auth import current_user, reseller, reseller_admin
from app.web.forms import client_ip, form_values
from app.web.rendering import render, wants_partial

PANEL = "team-panel"
SAVED_MESSAGES = {
    "invited": "L'utilisateur est créé : il a reçu un e-mail pour choisir son mot de passe.",
    "updated": "L'utilisateur est enregistré.",
    "deactivated": "L'utilisateur est désactivé : ses sessions ont été fermées.",
    "reactivated": "L'utilisateur est réactivé.",
    "invitation": "L'invitation a été renvoyée.",
}


async def render_panel(request: Request, view: str, *, status_code: int = 200, push_url: str | None = None,
                       **context) -> Template:
    organisation = team.Organisation.of(current_user(request))
    context = {"view": view, "role_labels": team.RESELLER_ROLES, "values": {}, "errors": {}, "saved": None,
               **context}
    if view == "list":
        context["members"] = await team.list_members(organisation)
    block = "panel" if request.headers.get("hx-target") == PANEL else "content"
    return render(request, "reseller/team/page.html", context, status_code=status_code, block=block,
                  push_url=push_url)


class TeamController(Controller):
    path = "/reseller/team"
    guards = [reseller]

    @get("/", name="reseller_team")
    async def list_team(self, request: Request, saved: FromQuery[str] = "") -> Template:
        return await render_panel(request, "list", saved=SAVED_MESSAGES.get(saved))

    @get("/new", guards=[reseller_admin], name="reseller_team_new")
    async def new(self, request: Request) -> Template:
        return await render_panel(request, "form", values={"role": "agent"})

    @post("/", guards=[reseller_admin], name="reseller_team_invite")
    async def invite(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            await team.invite_member(current_user(request), values, ip=client_ip(request))
        except ValidationFailed as refused:
            return await render_panel(request, "form", status_code=422, values=values, errors=refused.errors)
        return await self._saved(request, "invited")

    @get("/{user_id:int}", guards=[reseller_admin], name="reseller_team_edit")
    async def edit(self, request: Request, user_id: FromPath[int]) -> Template:
        target = await self._member(request, user_id)
        return await render_panel(request, "form", target=target, values=target)

    @post("/{user_id:int}", guards=[reseller_admin], name="reseller_team_save")
    async def save(self, request: Request, user_id: FromPath[int]) -> Response:
        values = await form_values(request)
        try:
            await team.update_member(current_user(request), user_id, values)
        except ValidationFailed as refused:
            target = await self._member(request, user_id)
            return await render_panel(request, "form", status_code=422, target=target, values=values,
                                      errors=refused.errors)
        return await self._saved(request, "updated")

    @post("/{user_id:int}/deactivate", guards=[reseller_admin], name="reseller_team_deactivate")
    async def deactivate(self, request: Request, user_id: FromPath[int]) -> Response:
        return await self._set_active(request, user_id, False)

    @post("/{user_id:int}/reactivate", guards=[reseller_admin], name="reseller_team_reactivate")
    async def reactivate(self, request: Request, user_id: FromPath[int]) -> Response:
        return await self._set_active(request, user_id, True)

    @post("/{user_id:int}/invitation", guards=[reseller_admin], name="reseller_team_invitation")
    async def resend(self, request: Request, user_id: FromPath[int]) -> Response:
        try:
            await team.resend_member_invitation(current_user(request), user_id)
        except ValidationFailed as refused:
            return await self._refused_on_member(request, user_id, refused)
        return await self._saved(request, "invitation")

    async def _set_active(self, request: Request, user_id: int, active: bool) -> Response:
        try:
            await team.set_member_active(current_user(request), user_id, active, ip=client_ip(request))
        except ValidationFailed as refused:
            return await self._refused_on_member(request, user_id, refused)
        return await self._saved(request, "reactivated" if active else "deactivated")

    async def _member(self, request: Request, user_id: int) -> dict:
        return await team.member(team.Organisation.of(current_user(request)), user_id)

    async def _refused_on_member(self, request: Request, user_id: int, refused: ValidationFailed) -> Template:
        target = await self._member(request, user_id)
        return await render_panel(request, "form", status_code=422, target=target, values=target,
                                  errors=refused.errors)

    async def _saved(self, request: Request, saved: str) -> Response:
        if wants_partial(request):
            return await render_panel(request, "list", saved=SAVED_MESSAGES[saved], push_url="/reseller/team")
        return Redirect(f"/reseller/team?saved={saved}", status_code=303)


ROUTES = [TeamController]
