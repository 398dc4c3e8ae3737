"""Extension offers and quote requests as the reseller who sells them sees them: Extensions and Devis.

Tenancy is enforced here: every function takes the reseller it works for, and an offer or a quote
request of another reseller is NotFound, exactly like one that does not exist. Roles are the
routes' business (offers are administrator-only; agents answer and close quote requests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone

import asyncpg
from piccolo.columns.combination import WhereRaw

from app import audit
from app.db.tables import ExtensionOffer, QuoteRequest
from app.errors import NotFound, ValidationFailed
from app.notifications.services import company_users, notify
from app.pagination import Page, page_bounds
from app.validation import Validator

QUOTE_STATUS_LABELS = {"requested": "Demandé", "answered": "Répondu", "closed": "Clos"}
CODE_TAKEN = "Vous avez déjà une extension avec ce code."
QUOTE_CLOSED = "Cette demande est close : elle ne peut plus recevoir de réponse."
ALREADY_CLOSED = "Cette demande est déjà close."
MAX_DURATION_MONTHS = 120
MAX_ANSWER = 4000
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")
_REFERENCE_SEPARATORS = re.compile(r"[,;\n\r]+")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- Extensions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OfferRow:
    id: int
    code: str
    label: str
    duration_months: int
    product_references: list[str]
    is_active: bool
    open_quotes: int = 0

    @property
    def references_text(self) -> str:
        """The references as the form shows them: one per line."""
        return "\n".join(self.product_references)


def split_references(text: str) -> list[str]:
    """Product references typed as a comma- or line-separated list: trimmed, blanks and repeats dropped."""
    return list(dict.fromkeys(part.strip() for part in _REFERENCE_SEPARATORS.split(text) if part.strip()))


async def list_offers(reseller_id: int, *, page: int = 1) -> Page[OfferRow]:
    """The reseller's catalogue: offers still offered first, then retired ones, by code."""
    number, limit, offset = page_bounds(page)
    total = await ExtensionOffer.count().where(ExtensionOffer.reseller == reseller_id)
    rows = await ExtensionOffer.raw(
        """SELECT o.id, o.code, o.label, o.duration_months, o.product_references, o.is_active,
                  (SELECT count(*) FROM quote_request q WHERE q.offer = o.id AND q.status = 'requested')
                      AS open_quotes
           FROM extension_offer o WHERE o.reseller = {}
           ORDER BY o.is_active DESC, lower(o.code) LIMIT {} OFFSET {}""",
        reseller_id, limit, offset,
    )
    return Page([_offer_row(row) for row in rows], number, total)


def _offer_row(row: dict) -> OfferRow:
    references = row["product_references"]
    if isinstance(references, str):  # raw queries hand JSONB over as text
        references = json.loads(references)
    return OfferRow(**{**row, "product_references": list(references)})


async def reseller_offer(reseller_id: int, offer_id: int) -> OfferRow:
    """One offer of the reseller; another reseller's is NotFound."""
    rows = await ExtensionOffer.raw(
        """SELECT id, code, label, duration_months, product_references, is_active
           FROM extension_offer WHERE id = {} AND reseller = {}""",
        offer_id, reseller_id,
    )
    if not rows:
        raise NotFound()
    return _offer_row(rows[0])


async def _check_offer(reseller_id: int, values: Mapping[str, str], *, offer_id: int | None = None) -> dict:
    v = Validator(values)
    code = v.text("code", max_length=64)
    if code and "code" not in v.errors and not _CODE.match(code):
        v.fail("code", "Lettres, chiffres et . _ / - seulement, sans espace.")
    label = v.text("label", max_length=500)
    duration = v.raw("duration_months")
    months = 0
    if not duration:
        v.fail("duration_months", "Ce champ est obligatoire.")
    elif not duration.isdigit() or not 1 <= int(duration) <= MAX_DURATION_MONTHS:
        v.fail("duration_months", f"Un nombre de mois entre 1 et {MAX_DURATION_MONTHS}.")
    else:
        months = int(duration)
    references = split_references(values.get("product_references") or "")
    if not references:
        v.fail("product_references", "Indiquez au moins une référence produit.")
    elif too_long := [ref for ref in references if len(ref) > 64]:
        v.fail("product_references", f"64 caractères au maximum par référence ({too_long[0][:20]}…).")
    if code and "code" not in v.errors:
        # Codes differing only by case would confuse customers and staff alike.
        same_code = ExtensionOffer.exists().where(
            (ExtensionOffer.reseller == reseller_id) & WhereRaw("lower(code) = lower({})", code))
        if offer_id is not None:
            same_code = same_code.where(ExtensionOffer.id != offer_id)
        if await same_code:
            v.fail("code", CODE_TAKEN)
    v.check()
    return {"code": code, "label": label, "duration_months": months, "product_references": references}


async def create_offer(reseller_id: int, actor_id: int, values: Mapping[str, str]) -> int:
    """Nouvelle extension: offered at once to the customers whose contracts match its references."""
    offer = await _check_offer(reseller_id, values)
    try:
        async with ExtensionOffer._meta.db.transaction():
            rows = await ExtensionOffer.insert(ExtensionOffer(reseller=reseller_id, **offer)).returning(
                ExtensionOffer.id)
            await audit.record("offer_created", actor_id=actor_id, object_type="extension_offer",
                               object_id=rows[0]["id"], code=offer["code"])
    except asyncpg.UniqueViolationError as error:  # the same code saved at the same moment
        raise ValidationFailed({"code": CODE_TAKEN}) from error
    return rows[0]["id"]


async def update_offer(reseller_id: int, actor_id: int, offer_id: int, values: Mapping[str, str]) -> None:
    """Edit an offer; quote requests already made keep pointing at it."""
    await reseller_offer(reseller_id, offer_id)
    offer = await _check_offer(reseller_id, values, offer_id=offer_id)
    try:
        async with ExtensionOffer._meta.db.transaction():
            await ExtensionOffer.update({getattr(ExtensionOffer, name): value for name, value in offer.items()}).where(
                (ExtensionOffer.id == offer_id) & (ExtensionOffer.reseller == reseller_id))
            await audit.record("offer_updated", actor_id=actor_id, object_type="extension_offer",
                               object_id=offer_id, code=offer["code"])
    except asyncpg.UniqueViolationError as error:
        raise ValidationFailed({"code": CODE_TAKEN}) from error


async def set_offer_active(reseller_id: int, actor_id: int, offer_id: int, active: bool) -> None:
    """Retirer: the offer is no longer offered to customers (requests already made stay); réactiver."""
    await reseller_offer(reseller_id, offer_id)
    async with ExtensionOffer._meta.db.transaction():
        await ExtensionOffer.update({ExtensionOffer.is_active: active}).where(
            (ExtensionOffer.id == offer_id) & (ExtensionOffer.reseller == reseller_id))
        await audit.record("offer_reactivated" if active else "offer_retired", actor_id=actor_id,
                           object_type="extension_offer", object_id=offer_id)


# -- Devis ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuoteRow:
    id: int
    status: str
    requested_at: datetime
    requested_by: str
    answer: str
    answered_at: datetime | None
    answered_by: str
    contract_number: str
    product_reference: str
    nas_serial: str
    ends_on: date
    company_id: int | None
    company_name: str
    company_email: str
    company_phone: str
    offer_code: str
    offer_label: str
    offer_duration_months: int

    @property
    def status_label(self) -> str:
        return QUOTE_STATUS_LABELS[self.status]

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


_QUOTE_SQL = """
SELECT q.id, q.status, q.requested_at, q.answer, q.answered_at,
       coalesce(trim(rb.first_name || ' ' || rb.last_name), '') AS requested_by,
       coalesce(trim(ab.first_name || ' ' || ab.last_name), '') AS answered_by,
       c.number AS contract_number, c.product_reference, c.ends_on,
       coalesce(a.serial_number, '') AS nas_serial,
       co.id AS company_id, coalesce(co.name, '') AS company_name,
       coalesce(co.email, '') AS company_email, coalesce(co.phone, '') AS company_phone,
       o.code AS offer_code, o.label AS offer_label, o.duration_months AS offer_duration_months
FROM quote_request q
JOIN contract c ON c.id = q.contract
JOIN extension_offer o ON o.id = q.offer
LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'
LEFT JOIN company co ON co.id = c.company
LEFT JOIN app_user rb ON rb.id = q.requested_by
LEFT JOIN app_user ab ON ab.id = q.answered_by
"""


async def list_quotes(reseller_id: int, *, status: str = "", page: int = 1) -> Page[QuoteRow]:
    """Quote requests on the reseller's contracts, newest first, optionally of one status."""
    number, limit, offset = page_bounds(page)
    where = "c.reseller = {}"
    args: list[object] = [reseller_id]
    if status in QUOTE_STATUS_LABELS:
        where += " AND q.status = {}"
        args.append(status)
    total = (await QuoteRequest.raw(
        f"SELECT count(*) AS n FROM quote_request q JOIN contract c ON c.id = q.contract WHERE {where}", *args,
    ))[0]["n"]
    rows = await QuoteRequest.raw(
        _QUOTE_SQL + f"WHERE {where} ORDER BY q.requested_at DESC, q.id DESC LIMIT {{}} OFFSET {{}}",
        *args, limit, offset,
    )
    return Page([QuoteRow(**row) for row in rows], number, total)


async def reseller_quote(reseller_id: int, quote_id: int) -> QuoteRow:
    """One quote request on the reseller's contracts; any other is NotFound."""
    rows = await QuoteRequest.raw(_QUOTE_SQL + "WHERE q.id = {} AND c.reseller = {}", quote_id, reseller_id)
    if not rows:
        raise NotFound()
    return QuoteRow(**rows[0])


async def _lock_quote(reseller_id: int, quote_id: int) -> dict:
    rows = await QuoteRequest.raw(
        """SELECT q.id, q.status, c.number, c.company, o.code FROM quote_request q
           JOIN contract c ON c.id = q.contract JOIN extension_offer o ON o.id = q.offer
           WHERE q.id = {} AND c.reseller = {} FOR UPDATE OF q""",
        quote_id, reseller_id,
    )
    if not rows:
        raise NotFound()
    return rows[0]


async def answer_quote(reseller_id: int, user_id: int, quote_id: int, values: Mapping[str, str]) -> None:
    """Répondre: the answer shows on the customer's contract page and every active user of the
    company is notified, in the same transaction. A new answer replaces the previous one."""
    v = Validator(values)
    answer = v.text("answer", max_length=MAX_ANSWER)
    async with QuoteRequest._meta.db.transaction():
        quote = await _lock_quote(reseller_id, quote_id)
        if quote["status"] == "closed":
            v.fail("answer", QUOTE_CLOSED)
        v.check()
        await QuoteRequest.update({
            QuoteRequest.status: "answered", QuoteRequest.answer: answer,
            QuoteRequest.answered_by: user_id, QuoteRequest.answered_at: _now(),
        }).where(QuoteRequest.id == quote_id)
        if quote["company"] is not None:
            await notify(
                await company_users(quote["company"]),
                kind="quote_answer",
                title=f"[Devis] Contrat n°{quote['number']}",
                body=f"{quote['code']} — {answer[:300]}{'…' if len(answer) > 300 else ''}",
                quote_request_id=quote_id,
            )
        await audit.record("quote_answered", actor_id=user_id, object_type="quote_request", object_id=quote_id)


async def close_quote(reseller_id: int, user_id: int, quote_id: int) -> None:
    """Clore: the request is settled; the customer may ask again for the same extension later."""
    async with QuoteRequest._meta.db.transaction():
        quote = await _lock_quote(reseller_id, quote_id)
        if quote["status"] == "closed":
            raise ValidationFailed({"close": ALREADY_CLOSED})
        await QuoteRequest.update({QuoteRequest.status: "closed"}).where(QuoteRequest.id == quote_id)
        await audit.record("quote_closed", actor_id=user_id, object_type="quote_request", object_id=quote_id)
