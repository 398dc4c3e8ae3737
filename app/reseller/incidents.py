"""Reseller view: the incident queue and the incident page (reply, internal note, status, assignee)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.errors import NotFound, ValidationFailed
from app.incidents import attachments, handling, services
from app.incidents.controllers import download_response, upload_for_next_message
from app.incidents.statuses import STATUS_LABELS, TRANSITIONS
from app.web.auth import current_user, reseller
from app.web.forms import client_ip, form_values
from app.web.rendering import render

TABS = {
    "declaration": "Déclaration",
    "address": "Adresse de livraison",
    "contract": "Contrat",
    "customer": "Client",
    "messages": "Messagerie",
}
UPLOAD_LIMIT = attachments.MAX_BYTES + 256 * 1024


async def render_incident(request: Request, number: str, tab: str, *, status_code: int = 200, **extra) -> Template:
    user = current_user(request)
    incident = await services.load_incident(number, reseller_id=user.reseller_id)
    if request.method == "GET":
        await handling.mark_incident_read(user, incident.id)
    context = {
        "incident": incident, "tab": tab, "tabs": TABS, "values": {}, "errors": {},
        "saved": "Enregistré." if request.query_params.get("saved") else None,
        "accept": attachments.ACCEPT, "status_labels": STATUS_LABELS,
        "next_statuses": TRANSITIONS.get(incident.status, ()), "staff": await handling.staff(user.reseller_id),
        **await handling.handling_facts(incident.id), **extra,
    }
    if tab == "messages":
        context["messages"] = await services.thread(incident.id, include_internal=True)
        context["pending_files"] = [
            f for f in incident.attachments
            if f["message"] is None and f["uploaded_by"] == user.id and f["deleted_at"] is None
            and f["uploaded_at"] > incident.submitted_at
        ]
    target = request.headers.get("hx-target")
    block = {"incident-tab": "tab", "handling": "handling"}.get(target or "", "content")
    return render(request, "reseller/incidents/detail.html", context, status_code=status_code, block=block)


class ResellerIncidentController(Controller):
    path = "/reseller/incidents"
    guards = [reseller]

    @get("/", name="reseller_incidents")
    async def queue(self, request: Request, q: FromQuery[str] = "", status: FromQuery[str] = "open",
                    assignee: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
        user = current_user(request)
        incidents = await handling.queue(user, query=q, status="" if status == "all" else status,
                                         assignee=assignee, page=page)
        params = {k: v for k, v in {"q": q.strip(), "status": status, "assignee": assignee}.items() if v}
        return render(request, "reseller/incidents/queue.html",
                      {"incidents": incidents, "query": q.strip(), "status": status, "assignee": assignee,
                       "params": params, "status_filters": handling.QUEUE_STATUS_FILTERS,
                       "assignee_filters": handling.ASSIGNEE_FILTERS},
                      block="results" if request.headers.get("hx-target") == "queue-results" else "content")

    @get("/{number:str}", name="reseller_incident")
    async def show(self, request: Request, number: FromPath[str]) -> Template:
        return await render_incident(request, number, "declaration")

    @get("/{number:str}/{tab:str}", name="reseller_incident_tab")
    async def show_tab(self, request: Request, number: FromPath[str], tab: FromPath[str]) -> Template:
        if tab not in TABS:
            raise NotFound()
        return await render_incident(request, number, tab)

    @post("/{number:str}/reply", request_max_body_size=UPLOAD_LIMIT, name="reseller_reply")
    async def reply(self, request: Request, number: FromPath[str]) -> Response:
        user = current_user(request)
        form = await request.form()
        body = form.get("body") if isinstance(form.get("body"), str) else ""
        attachment_ids = [int(v) for v in form.getall("attachments", []) if isinstance(v, str) and v.isdigit()]
        upload = form.get("file")
        try:
            if isinstance(upload, UploadFile) and upload.filename:
                incident = await services.load_incident(number, reseller_id=user.reseller_id)
                attachment_ids.append(await attachments.save_attachment(incident.id, user.id, upload))
            await handling.reply(user, number, body, attachment_ids=attachment_ids, ip=client_ip(request))
        except ValidationFailed as refused:
            return await render_incident(request, number, "messages", status_code=422,
                                         values={"body": body}, errors=refused.errors)
        finally:
            if isinstance(upload, UploadFile):
                await upload.close()
        return await self._done(request, number, "messages", "Votre réponse a été envoyée au client.")

    @post("/{number:str}/note", name="reseller_note")
    async def note(self, request: Request, number: FromPath[str]) -> Response:
        values = await form_values(request)
        try:
            await handling.add_note(current_user(request), number, values.get("note", ""))
        except ValidationFailed as refused:
            return await render_incident(request, number, "messages", status_code=422,
                                         values={"note": values.get("note", "")},
                                         errors={"note": refused.errors["body"]})
        return await self._done(request, number, "messages", "La note interne est ajoutée.")

    @post("/{number:str}/status", name="reseller_status")
    async def status(self, request: Request, number: FromPath[str]) -> Response:
        values = await form_values(request)
        try:
            await handling.set_status(current_user(request), number, values.get("status", ""), ip=client_ip(request))
        except ValidationFailed as refused:
            return await render_incident(request, number, "declaration", status_code=422, errors=refused.errors)
        return await self._done(request, number, None, "Le statut est mis à jour ; le client est prévenu.")

    @post("/{number:str}/assign", name="reseller_assign")
    async def assign(self, request: Request, number: FromPath[str]) -> Response:
        values = await form_values(request)
        choice = values.get("assignee", "")
        try:
            await handling.assign(current_user(request), number, int(choice) if choice.isdigit() else None)
        except ValidationFailed as refused:
            return await render_incident(request, number, "declaration", status_code=422, errors=refused.errors)
        return await self._done(request, number, None, "L'assignation est enregistrée.")

    async def _done(self, request: Request, number: str, tab: str | None, message: str) -> Response:
        target = request.headers.get("hx-target")
        if target in ("incident-tab", "handling"):
            return await render_incident(request, number, tab or "declaration", saved=message)
        return Redirect(f"/reseller/incidents/{number}" + (f"/{tab}" if tab else "") + "?saved=1", status_code=303)

    @post("/{number:str}/attachments", request_max_body_size=UPLOAD_LIMIT, name="reseller_upload")
    async def upload(self, request: Request, number: FromPath[str]) -> Response:
        user = current_user(request)
        incident = await services.load_incident(number, reseller_id=user.reseller_id)
        return await upload_for_next_message(request, incident, user.id, base_url=f"/reseller/incidents/{number}")

    @get("/{number:str}/attachments/{attachment_id:int}", name="reseller_download")
    async def download(self, request: Request, number: FromPath[str], attachment_id: FromPath[int]) -> File:
        incident = await services.load_incident(number, reseller_id=current_user(request).reseller_id)
        return await download_response(incident.id, attachment_id)

    @post("/{number:str}/attachments/{attachment_id:int}/delete", name="reseller_file_delete")
    async def delete_file(self, request: Request, number: FromPath[str], attachment_id: FromPath[int]) -> Response:
        user = current_user(request)
        incident = await services.load_incident(number, reseller_id=user.reseller_id)
        row = await services.find_attachment(incident.id, attachment_id)
        # A reseller user removes only the files they uploaded, never the customer's evidence.
        await attachments.delete_attachment(row, user_id=user.id, is_admin=False, incident_status=incident.status,
                                            ip=client_ip(request))
        if request.headers.get("hx-target") == "incident-tab":
            return await render_incident(request, number, "declaration")
        if request.headers.get("hx-request") == "true":
            return Response(content=b"", status_code=200)
        return Redirect(f"/reseller/incidents/{number}", status_code=303)


ROUTES = [ResellerIncidentController]
