"""Mes incidents and the incident page: tabs, Messagerie, files (download and delete)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template

from app.errors import NotFound, RateLimited, ValidationFailed
from app.incidents import attachments, services
from app.incidents.statuses import CUSTOMER_FILTERS, STATUS_LABELS
from app.web.auth import current_user, customer, customer_admin
from app.web.forms import client_ip
from app.web.rendering import fragment, render

TABS = {
    "declaration": "Ma déclaration",
    "address": "Mon adresse de livraison",
    "contract": "Mon contrat",
    "reseller": "Mon revendeur",
    "messages": "Messagerie",
}
UPLOAD_LIMIT = attachments.MAX_BYTES + 256 * 1024


async def render_tab(request: Request, number: str, tab: str, *, status_code: int = 200, **extra) -> Template:
    user = current_user(request)
    incident = await services.load_incident(number, company_id=user.company_id)
    context = {"incident": incident, "tab": tab, "tabs": TABS, "values": {}, "errors": {},
               "accept": attachments.ACCEPT, "declared": False, **extra}
    if tab == "messages":
        context["messages"] = await services.thread(incident.id)
        context["pending_files"] = [
            f for f in incident.attachments
            if f["message"] is None and f["uploaded_by"] == user.id and f["deleted_at"] is None
            and f["uploaded_at"] > incident.submitted_at
        ]
    target = request.headers.get("hx-target")
    return render(request, "incidents/detail.html", context, status_code=status_code,
                  block="tab" if target == "incident-tab" else "content")


class IncidentController(Controller):
    path = "/incidents"
    guards = [customer]

    @get("/", name="incidents")
    async def list_incidents(self, request: Request, status: FromQuery[str] = "",
                             page: FromQuery[int] = 1) -> Template:
        user = current_user(request)
        status = status if status in CUSTOMER_FILTERS else ""
        incidents = await services.list_company_incidents(user.company_id, status=status, page=page)
        return render(request, "incidents/list.html",
                      {"incidents": incidents, "status": status, "filters": CUSTOMER_FILTERS,
                       "labels": STATUS_LABELS},
                      block="results" if request.headers.get("hx-target") == "incident-results" else "content")

    @get("/{number:str}", name="incident")
    async def show(self, request: Request, number: FromPath[str], declared: FromQuery[bool] = False) -> Template:
        return await render_tab(request, number, "declaration", declared=declared)

    @get("/{number:str}/{tab:str}", name="incident_tab")
    async def show_tab(self, request: Request, number: FromPath[str], tab: FromPath[str]) -> Template:
        if tab not in TABS:
            raise NotFound()
        return await render_tab(request, number, tab)

    @get("/{number:str}/messages", name="incident_messages")
    async def show_messages(self, request: Request, number: FromPath[str]) -> Template:
        # Its own route: the static /messages path of the reply would otherwise shadow the tab.
        return await render_tab(request, number, "messages")

    @post("/{number:str}/messages", guards=[customer_admin], request_max_body_size=UPLOAD_LIMIT,
          name="incident_reply")
    async def reply(self, request: Request, number: FromPath[str]) -> Response:
        user = current_user(request)
        form = await request.form()
        body = form.get("body") if isinstance(form.get("body"), str) else ""
        attachment_ids = [int(v) for v in form.getall("attachments", []) if isinstance(v, str) and v.isdigit()]
        upload = form.get("file")
        try:
            if isinstance(upload, UploadFile) and upload.filename:
                # Without JavaScript the file comes with the message (one per message).
                incident = await services.load_incident(number, company_id=user.company_id)
                attachment_ids.append(await attachments.save_attachment(incident.id, user.id, upload))
            await services.customer_reply(user, number, body, attachment_ids=attachment_ids,
                                          ip=client_ip(request))
        except ValidationFailed as refused:
            return await render_tab(request, number, "messages", status_code=422,
                                    values={"body": body}, errors=refused.errors)
        finally:
            if isinstance(upload, UploadFile):
                await upload.close()
        if request.headers.get("hx-target") == "incident-tab":
            return await render_tab(request, number, "messages", sent=True)
        return Redirect(f"/incidents/{number}/messages#last", status_code=303)

    @post("/{number:str}/attachments", guards=[customer_admin], request_max_body_size=UPLOAD_LIMIT,
          name="incident_upload")
    async def upload(self, request: Request, number: FromPath[str]) -> Response:
        """A file for the next message (Messagerie drop zone); it joins the message when sent."""
        user = current_user(request)
        incident = await services.load_incident(number, company_id=user.company_id)
        return await upload_for_next_message(request, incident, user.id, base_url=f"/incidents/{number}")

    @get("/{number:str}/attachments/{attachment_id:int}", name="incident_download")
    async def download(self, request: Request, number: FromPath[str], attachment_id: FromPath[int]) -> File:
        user = current_user(request)
        incident = await services.load_incident(number, company_id=user.company_id)
        return await download_response(incident.id, attachment_id)

    @post("/{number:str}/attachments/{attachment_id:int}/delete", guards=[customer_admin],
          name="incident_file_delete")
    async def delete_file(self, request: Request, number: FromPath[str], attachment_id: FromPath[int]) -> Response:
        user = current_user(request)
        incident = await services.load_incident(number, company_id=user.company_id)
        row = await services.find_attachment(incident.id, attachment_id)
        await attachments.delete_attachment(row, user_id=user.id, is_admin=user.is_admin,
                                            incident_status=incident.status, ip=client_ip(request))
        if request.headers.get("hx-target") == "incident-tab":
            return await render_tab(request, number, "declaration")
        if request.headers.get("hx-request") == "true":
            return Response(content=b"", status_code=200)  # the row swaps itself out
        return Redirect(f"/incidents/{number}", status_code=303)


async def upload_for_next_message(request: Request, incident: services.IncidentView, user_id: int, *,
                                  base_url: str) -> Response:
    """Store one uploaded file on the incident; answer its row (201) or the refusal, for app.js."""
    if incident.is_closed:
        return fragment("incidents/partials/_upload_error.html",
                        {"message": "Cet incident est clos : il n'accepte plus de fichier."}, status_code=403)
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed({"file": "Choisissez un fichier à ajouter."})
        attachment_id = await attachments.save_attachment(incident.id, user_id, upload)
    except RateLimited as limited:
        return fragment("incidents/partials/_upload_error.html", {"message": limited.message}, status_code=429)
    except ValidationFailed as refused:
        return fragment("incidents/partials/_upload_error.html", {"message": refused.errors["file"]},
                        status_code=422)
    finally:
        if isinstance(upload, UploadFile):
            await upload.close()
    row = await services.find_attachment(incident.id, attachment_id)
    return fragment("incidents/partials/_pending_file.html",
                    {"incident": incident, "file": row, "base_url": base_url}, status_code=201)


async def download_response(incident_id: int, attachment_id: int) -> File:
    """Télécharger: always as a download, never rendered by the browser (nosniff, sandbox CSP)."""
    row = await services.find_attachment(incident_id, attachment_id)
    path = attachments.path_of(row["stored_name"])
    if row["deleted_at"] is not None or not path.exists():
        raise NotFound()
    return File(
        path=path,
        media_type=row["content_type"],
        content_disposition_type="attachment",
        headers={
            "Content-Disposition": attachments.content_disposition(row["original_name"]),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )
