"""Reseller view: Contrats — search, the contract page, create and edit with articles, CSV import.

Everyone of the reseller reads; only its administrators write (reseller_admin: 403 for an agent).
The article rows of the form are added and removed in place with htmx (`/article-row`); without
JavaScript the same buttons post the form (`action=add-row` / `action=remove-<key>`), which comes
back with one row more or less and nothing saved.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app import audit
from app.contracts import csv_import
from app.contracts import reseller_services as services
from app.contracts.csv_import import ImportRefused
from app.contracts import contract_form
from app.contracts.contract_form import ArticleDraft, ContractDraft
from app.errors import ValidationFailed
from app.web.auth import current_user, reseller, reseller_admin
from app.web.formatting import today_paris
from app.web.forms import client_ip, form_values
from app.web.rendering import fragment, render

MAX_CSV_BYTES = 2 * 1024 * 1024
# The upload route accepts what the attachments accept, so that the app-wide "too large" page
# (which names 20 Mo) tells the truth; the CSV's own, smaller limit is checked in the handler.
CSV_UPLOAD_LIMIT = 20 * 1024 * 1024 + 256 * 1024
CSV_COMMIT_LIMIT = 3 * MAX_CSV_BYTES + 64 * 1024  # the same text url-encoded: at most 3 bytes per byte
NO_FILE = "Choisissez un fichier CSV à importer."
NOT_UTF8 = ("Ce fichier n'est pas en UTF-8 : enregistrez-le au format « CSV UTF-8 » "
            "(Excel : Enregistrer sous › CSV UTF-8) puis recommencez.")
CSV_TOO_BIG = "Le fichier dépasse 2 Mo : découpez-le en plusieurs imports."
CHANGED_MEANWHILE = ("Rien n'a été importé : les contrôles ont échoué au moment d'importer "
                     "(voir les erreurs).")
SAVED = {"created": "Le contrat est créé.", "updated": "Le contrat est enregistré."}
TEMPLATE_CSV = (
    ",".join(csv_import.COLUMNS) + "\r\n"
    "30001,TS-131K-1TIW,2025-01-15,2028-01-15,nas,NAS QNAP Tour TS-131K - Boitier nu - 1 baie,"
    "TS-131K,Q000A00001,https://www.qnap.com/fr-fr/product/ts-131k\r\n"
    "30001,TS-131K-1TIW,2025-01-15,2028-01-15,disk,Disque dur 1 To,ST1000VN002,Z000A00001,\r\n"
)


def _contract_url(number: str) -> str:
    return f"/reseller/contracts/{quote(number, safe='')}"


def _go(request: Request, location: str) -> Response:
    """After a successful write: htmx follows HX-Location, a plain form post a 303."""
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=200, headers={"HX-Location": location})
    return Redirect(location, status_code=303)


def _form(request: Request, draft: ContractDraft, *, number: str | None = None,
          errors: dict | None = None, cited: set[int] | None = None, status_code: int = 200) -> Template:
    """The contract form, new (`number` None) or editing `number`, as a page or its form block."""
    context = {"draft": draft, "values": draft.values(), "errors": errors or {}, "editing": number,
               "cited": cited or set(), "kinds": services.KIND_LABELS}
    block = "contract_form" if request.headers.get("hx-target") == "contract-form" else "content"
    return render(request, "reseller/contracts/form.html", context, status_code=status_code, block=block)


def _row_action(draft: ContractDraft, action: str) -> bool:
    """Apply a no-JavaScript row button to the draft; True when the form is to be shown again."""
    if action == "add-row":
        draft.add_row()
        return True
    if action.startswith("remove-"):
        draft.remove_row(action.removeprefix("remove-"))
        return True
    return False


class ResellerContractController(Controller):
    path = "/reseller/contracts"
    guards = [reseller]

    @get("/", name="reseller_contracts")
    async def list_contracts(self, request: Request, q: FromQuery[str] = "", page: FromQuery[int] = 1,
                             imported: FromQuery[int | None] = None) -> Template:
        user = current_user(request)
        contracts = await services.list_contracts(user.reseller_id, query=q, page=page)
        return render(
            request, "reseller/contracts/list.html",
            {"contracts": contracts, "query": q.strip(), "today": today_paris(), "imported": imported},
            block="results" if request.headers.get("hx-target") == "contract-results" else "content",
        )

    @get("/new", guards=[reseller_admin], name="reseller_contract_new")
    async def new(self, request: Request) -> Template:
        return _form(request, contract_form.new_contract_draft())

    @post("/", guards=[reseller_admin], name="reseller_contract_create")
    async def create(self, request: Request) -> Response:
        user = current_user(request)
        values = await form_values(request)
        draft = contract_form.read_contract_form(values)
        if _row_action(draft, values.get("action", "")):
            return _form(request, draft)
        try:
            number = await contract_form.create_contract(user.reseller_id, user.id, draft, ip=client_ip(request))
        except ValidationFailed as refused:
            return _form(request, draft, errors=refused.errors, status_code=422)
        return _go(request, f"{_contract_url(number)}?saved=created")

    @get("/article-row", guards=[reseller_admin], name="reseller_article_row")
    async def article_row(self) -> Template:
        """One empty article row, appended to the form by htmx; its key is random so rows added
        in any order never share field names."""
        row = ArticleDraft(f"n{secrets.token_hex(4)}")
        return fragment("reseller/contracts/_article_row.html",
                        {"row": row, "values": ContractDraft(articles=[row]).values(), "errors": {},
                         "cited": set(), "kinds": services.KIND_LABELS, "autofocus": True})

    @get("/article-row/removed", guards=[reseller_admin], name="reseller_article_row_removed")
    async def article_row_removed(self) -> Response:
        """What replaces a removed row: nothing (the row is only saved, or not, with the form)."""
        return Response(content=b"", status_code=200, media_type="text/html")

    @get("/{number:str}", name="reseller_contract")
    async def show(self, request: Request, number: FromPath[str], saved: FromQuery[str] = "") -> Template:
        user = current_user(request)
        contract = await services.contract_detail(user.reseller_id, number)
        return render(request, "reseller/contracts/detail.html",
                      {"contract": contract, "today": today_paris(), "saved": SAVED.get(saved)})

    @get("/{number:str}/edit", guards=[reseller_admin], name="reseller_contract_edit")
    async def edit(self, request: Request, number: FromPath[str]) -> Template:
        user = current_user(request)
        draft = await contract_form.contract_draft(user.reseller_id, number)
        cited = await contract_form.cited_articles(user.reseller_id, number)
        return _form(request, draft, number=number, cited=cited)

    @post("/{number:str}", guards=[reseller_admin], name="reseller_contract_save")
    async def save(self, request: Request, number: FromPath[str]) -> Response:
        user = current_user(request)
        cited = await contract_form.cited_articles(user.reseller_id, number)  # NotFound first: no leak
        values = await form_values(request)
        draft = contract_form.read_contract_form(values)
        if _row_action(draft, values.get("action", "")):
            return _form(request, draft, number=number, cited=cited)
        try:
            saved_number = await contract_form.update_contract(user.reseller_id, user.id, number, draft,
                                                          ip=client_ip(request))
        except ValidationFailed as refused:
            return _form(request, draft, number=number, cited=cited, errors=refused.errors, status_code=422)
        return _go(request, f"{_contract_url(saved_number)}?saved=updated")


def _preview_page(request: Request, *, text: str = "", preview: csv_import.ImportPreview | None = None,
                  errors: dict | None = None, message: str | None = None, status_code: int = 200) -> Template:
    context = {"text": text, "preview": preview, "errors": errors or {}, "message": message,
               "max_mb": MAX_CSV_BYTES // (1024 * 1024)}
    if preview is not None:
        by_line: dict[int, list] = {}
        for error in preview.errors:
            by_line.setdefault(error.line, []).append(error)
        context["errors_by_contract"] = {
            contract.number: [e for line in sorted({contract.line, *(a.line for a in contract.articles)})
                              for e in by_line.get(line, [])]
            for contract in preview.contracts
        }
    block = "import_panel" if request.headers.get("hx-target") == "import-panel" else "content"
    return render(request, "reseller/contracts/import.html", context, status_code=status_code, block=block)


async def _read_upload(upload: object) -> str:
    """The uploaded CSV as text; raises ValidationFailed when there is none, too big, or not UTF-8."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed({"file": NO_FILE})
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ValidationFailed({"file": CSV_TOO_BIG})
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationFailed({"file": NOT_UTF8}) from error


class ContractImportController(Controller):
    """Import from CSV: upload → preview (nothing written) → Importer (all or nothing).

    Nothing is kept on the server between the steps: the preview carries the file's text in its
    Importer form, and the import checks everything again (the same service as the operator's
    `litestar contracts import`).
    """

    path = "/reseller/contracts/import"
    guards = [reseller_admin]

    @get("/", name="reseller_contract_import")
    async def form(self, request: Request) -> Template:
        return _preview_page(request)

    @get("/template.csv", name="reseller_contract_import_template")
    async def template(self) -> Response:
        return Response(content=TEMPLATE_CSV.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="modele-import-contrats.csv"'})

    @post("/", request_max_body_size=CSV_UPLOAD_LIMIT, name="reseller_contract_import_preview")
    async def preview(self, request: Request) -> Template:
        user = current_user(request)
        form = await request.form()
        upload = form.get("file")
        try:
            text = await _read_upload(upload)
        except ValidationFailed as refused:
            return _preview_page(request, errors=refused.errors, status_code=422)
        finally:
            if isinstance(upload, UploadFile):
                await upload.close()
        preview = await csv_import.preview_import(text, user.reseller_id)
        return _preview_page(request, text=text, preview=preview, status_code=200 if preview.ok else 422)

    @post("/commit", request_max_body_size=CSV_COMMIT_LIMIT, name="reseller_contract_import_commit")
    async def commit(self, request: Request) -> Response:
        user = current_user(request)
        # A textarea posts its lines ended by CRLF: back to the file's size before measuring it.
        text = (await form_values(request)).get("csv", "").replace("\r\n", "\n")
        if len(text.encode("utf-8")) > MAX_CSV_BYTES:
            return _preview_page(request, errors={"file": CSV_TOO_BIG}, status_code=422)
        try:
            imported = await csv_import.import_contracts(text, user.reseller_id)
        except ImportRefused:
            preview = await csv_import.preview_import(text, user.reseller_id)
            return _preview_page(request, text=text, preview=preview, message=CHANGED_MEANWHILE,
                                 status_code=422)
        await audit.record("contracts_imported", actor_id=user.id, object_type="reseller",
                           object_id=user.reseller_id, ip=client_ip(request), count=len(imported))
        return _go(request, f"/reseller/contracts?imported={len(imported)}")


ROUTES = [ResellerContractController, ContractImportController]
