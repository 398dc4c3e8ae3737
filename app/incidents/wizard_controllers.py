"""Déclarer un incident: the wizard's pages. Each step is an htmx partial with its own URL and,
without JavaScript, a plain form post that redirects to the next step."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.contracts.services import contract_detail
from app.errors import NotFound, RateLimited, ValidationFailed
from app.incidents import attachments, wizard
from app.incidents.services import find_attachment, incident_attachments
from app.incidents.statuses import NATURE_LABELS
from app.web.auth import current_user, customer_admin
from app.web.forms import client_ip
from app.web.rendering import fragment, render, wants_partial

UPLOAD_LIMIT = attachments.MAX_BYTES + 256 * 1024  # the file plus the multipart envelope


def step_url(draft_id: int, step: str) -> str:
    return f"/incidents/drafts/{draft_id}/{step}"


async def _step_context(request: Request, draft: wizard.Draft, step: str, **extra) -> dict:
    user = current_user(request)
    detail = await contract_detail(user.company_id, draft.contract_number)
    return {
        "draft": draft, "step": step, "steps": wizard.STEPS, "step_titles": wizard.STEP_TITLES,
        "contract": detail, "natures": NATURE_LABELS,
        "articles": await wizard.contract_articles(draft.contract_id),
        "files": [f for f in await incident_attachments(draft.id) if f["deleted_at"] is None],
        "addresses": await wizard.company_addresses(user.company_id),
        "missing": wizard.missing_steps(draft) if step == "review" else {},
        "values": {}, "errors": {}, "accept": attachments.ACCEPT, **extra,
    }


async def render_step(request: Request, draft: wizard.Draft, step: str, *, status_code: int = 200,
                      **extra) -> Template:
    context = await _step_context(request, draft, step, **extra)
    return render(request, "incidents/wizard.html", context, block="step", status_code=status_code)


def _go(request: Request, draft_id: int, step: str) -> Response:
    """After a saved step: the next page (htmx swaps it in and pushes its URL) or a redirect."""
    if wants_partial(request):
        return Response(content=b"", status_code=200,
                        headers={"HX-Location": f'{{"path": "{step_url(draft_id, step)}", '
                                                f'"target": "#wizard-step", "swap": "outerHTML"}}'})
    return Redirect(step_url(draft_id, step), status_code=303)


@get("/contracts/{number:str}/incidents/new", guards=[customer_admin], name="declare")
async def declare(request: Request, number: FromPath[str]) -> Response:
    """Déclarer un incident: resume the draft in progress, or show the contract check."""
    user = current_user(request)
    detail = await contract_detail(user.company_id, number)
    if existing := await wizard.draft_for_contract(user, detail.id):
        return Redirect(step_url(existing["id"], existing["wizard_step"]), status_code=303)
    return render(request, "incidents/start.html", {"contract": detail, "steps": wizard.STEPS,
                                                     "step_titles": wizard.STEP_TITLES, "step": "contract"})


@post("/contracts/{number:str}/incidents", guards=[customer_admin], name="start_declaration")
async def start_declaration(request: Request, number: FromPath[str]) -> Response:
    draft_id = await wizard.start_draft(current_user(request), number)
    return Redirect(step_url(draft_id, "declaration"), status_code=303)


class WizardController(Controller):
    path = "/incidents/drafts/{draft_id:int}"
    guards = [customer_admin]

    @get("/{step:str}", name="wizard_step")
    async def show(self, request: Request, draft_id: FromPath[int], step: FromPath[str]) -> Template:
        if step not in wizard.STEPS:
            raise NotFound()
        draft = await wizard.load_draft(current_user(request), draft_id)
        return await render_step(request, draft, step)

    @post("/{step:str}")
    async def save(self, request: Request, draft_id: FromPath[int], step: FromPath[str]) -> Response:
        if step not in wizard.STEPS or step == "review":
            raise NotFound()
        user = current_user(request)
        draft = await wizard.load_draft(user, draft_id)
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        going_back = values.get("action") == "back"
        try:
            if step == "declaration":
                await wizard.save_declaration(user, draft, values, form.getall("articles", []), judge=not going_back)
            elif step == "description":
                await wizard.save_description(user, draft, values, judge=not going_back)
            elif step == "address":
                await wizard.save_address(user, draft, values, judge=not going_back)
        except ValidationFailed as refused:
            fresh = await wizard.load_draft(user, draft_id)
            return await render_step(request, fresh, step, status_code=422, values=values,
                                     errors=refused.errors, chosen_articles=set(form.getall("articles", [])))
        return _go(request, draft_id, wizard.previous_step(step) if going_back else wizard.next_step(step))

    @post("/submit", name="wizard_submit")
    async def submit(self, request: Request, draft_id: FromPath[int]) -> Response:
        user = current_user(request)
        try:
            number = await wizard.submit(user, draft_id, ip=client_ip(request))
        except ValidationFailed as refused:
            draft = await wizard.load_draft(user, draft_id)
            return await render_step(request, draft, "review", status_code=422, errors=refused.errors)
        location = f"/incidents/{number}?declared=1"
        if wants_partial(request):
            return Response(content=b"", status_code=200, headers={"HX-Location": location})
        return Redirect(location, status_code=303)

    @post("/attachments", request_max_body_size=UPLOAD_LIMIT, name="wizard_upload")
    async def upload(self, request: Request, draft_id: FromPath[int]) -> Response:
        user = current_user(request)
        draft = await wizard.load_draft(user, draft_id)
        form = await request.form()
        upload = form.get("file")
        if isinstance(form.get("description"), str):
            # Without JavaScript the whole step form came along: keep what was typed.
            await wizard.save_description(user, draft, {"description": form.get("description")}, judge=False)
            draft = await wizard.load_draft(user, draft_id)
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise ValidationFailed({"file": "Choisissez un fichier à ajouter."})
            attachment_id = await attachments.save_attachment(draft.id, user.id, upload)
        except RateLimited as limited:
            return fragment("incidents/partials/_upload_error.html", {"message": limited.message}, status_code=429)
        except ValidationFailed as refused:
            if request.headers.get("hx-request") == "true":
                return fragment("incidents/partials/_upload_error.html",
                                {"message": refused.errors["file"]}, status_code=422)
            return await render_step(request, draft, "description", status_code=422,
                                     errors={"file": refused.errors["file"]})
        finally:
            if isinstance(upload, UploadFile):
                await upload.close()
        if request.headers.get("hx-request") == "true":
            row = await find_attachment(draft.id, attachment_id)
            return fragment("incidents/partials/_draft_file.html", {"draft": draft, "file": row},
                          status_code=201)
        return Redirect(step_url(draft.id, "description"), status_code=303)

    @post("/attachments/{attachment_id:int}/delete", name="wizard_file_delete")
    async def delete_file(self, request: Request, draft_id: FromPath[int],
                          attachment_id: FromPath[int]) -> Response:
        user = current_user(request)
        draft = await wizard.load_draft(user, draft_id)
        row = await find_attachment(draft.id, attachment_id)
        await attachments.delete_attachment(row, user_id=user.id, is_admin=True, incident_status="draft",
                                            ip=client_ip(request))
        if request.headers.get("hx-request") == "true":
            return Response(content=b"", status_code=200)
        return Redirect(step_url(draft.id, "description"), status_code=303)
