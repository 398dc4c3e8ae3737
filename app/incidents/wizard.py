"""Déclarer un incident: the wizard's steps, saved into a `draft` incident as each is left.

A draft is seen only by its author. Every step validates on the server; going back saves what
was typed without judging it, so nothing is lost either way. Submission turns the draft into
an incident in one transaction: number, status, delivery address copy, history, notifications.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from app import audit
from app.accounts.sessions import CurrentUser
from app.db.tables import (
    Article,
    Attachment,
    Contract,
    DeliveryAddress,
    Incident,
    IncidentArticle,
    IncidentStatusChange,
)
from app.errors import Forbidden, NotFound, ValidationFailed
from app.incidents.attachments import discard
from app.incidents.numbering import allocate_number
from app.incidents.statuses import NATURE_LABELS
from app.notifications.services import notify, reseller_staff
from app.validation import REQUIRED, Validator, check_address, printable
from app.web.formatting import today_paris

STEPS = ("contract", "declaration", "description", "address", "review")
STEP_TITLES = {
    "contract": "Mon contrat",
    "declaration": "Ma déclaration",
    "description": "Descriptif et fichiers",
    "address": "Mon adresse de livraison",
    "review": "Vérification",
}
DRAFT_LIFETIME = timedelta(days=30)
EXPIRED = "Ce contrat n'est plus protégé : il n'est plus possible d'y déclarer un incident."
# The incident keeps its own copy of the address: later edits of the address book never rewrite it.
ADDRESS_COPY = {
    "label": Incident.delivery_label,
    "recipient_name": Incident.delivery_recipient,
    "street": Incident.delivery_street,
    "complement": Incident.delivery_complement,
    "city": Incident.delivery_city,
    "postal_code": Incident.delivery_postal_code,
    "country": Incident.delivery_country,
    "email": Incident.delivery_email,
    "phone": Incident.delivery_phone,
}

# The draft's copy columns as the address step's form names them (new_label, …), for load_draft.
_TYPED_ADDRESS_FIELDS = ", ".join(
    f"'new_{name}', i.{column._meta.db_column_name}" for name, column in ADDRESS_COPY.items())


def next_step(step: str) -> str:
    return STEPS[min(STEPS.index(step) + 1, len(STEPS) - 1)]


def previous_step(step: str) -> str:
    return STEPS[max(STEPS.index(step) - 1, 0)]


@dataclass(frozen=True)
class Draft:
    id: int
    contract_id: int
    contract_number: str
    product_reference: str
    ends_on: date
    reseller_id: int
    title: str
    nature: str | None
    description: str
    wizard_step: str
    delivery_address_id: int | None
    article_ids: frozenset[int]
    # A new address typed and left unfinished by going back (Précédent), as the form names its
    # fields (new_label, …): shown again when the step comes back. Empty otherwise.
    typed_address: Mapping[str, str] = field(default_factory=dict)


def _require_declarer(user: CurrentUser) -> None:
    if not (user.is_customer and user.is_admin):
        raise Forbidden("Seul un administrateur de votre société peut déclarer un incident.")


async def _protected_contract(user: CurrentUser, number: str) -> dict:
    contract = await Contract.select().where(
        (Contract.number == number) & (Contract.company == user.company_id)
    ).first()
    if contract is None:
        raise NotFound()
    if contract["ends_on"] < today_paris():
        raise Forbidden(EXPIRED)
    return contract


async def draft_for_contract(user: CurrentUser, contract_id: int) -> dict | None:
    """The user's draft on this contract, if one is in progress."""
    rows = await Incident.raw(
        """SELECT id, wizard_step FROM incident
           WHERE created_by = {} AND status = 'draft' AND contract = {} ORDER BY updated_at DESC LIMIT 1""",
        user.id, contract_id,
    )
    return rows[0] if rows else None


async def start_draft(user: CurrentUser, number: str) -> int:
    """Open the wizard on a protected contract (or return the draft already in progress)."""
    _require_declarer(user)
    contract = await _protected_contract(user, number)
    if existing := await draft_for_contract(user, contract["id"]):
        return existing["id"]
    rows = await Incident.insert(Incident(
        contract=contract["id"], company=user.company_id, reseller=contract["reseller"],
        created_by=user.id, status="draft",
        wizard_step="declaration",
    )).returning(Incident.id)
    return rows[0]["id"]


async def load_draft(user: CurrentUser, draft_id: int) -> Draft:
    """The user's own draft; anyone else's, or a submitted incident, is NotFound."""
    _require_declarer(user)
    rows = await Incident.raw(
        f"""SELECT i.id, i.contract AS contract_id, c.number AS contract_number, c.product_reference,
                  c.ends_on, c.reseller AS reseller_id, i.title, i.nature, i.description, i.wizard_step,
                  i.delivery_address AS delivery_address_id,
                  json_build_object({_TYPED_ADDRESS_FIELDS}) AS typed_address,
                  coalesce(array_agg(ia.article) FILTER (WHERE ia.article IS NOT NULL), ARRAY[]::integer[]) AS article_ids
           FROM incident i JOIN contract c ON c.id = i.contract
           LEFT JOIN incident_article ia ON ia.incident = i.id
           WHERE i.id = {{}} AND i.created_by = {{}} AND i.company = {{}} AND i.status = 'draft'
           GROUP BY i.id, c.id""",
        draft_id, user.id, user.company_id,
    )
    if not rows:
        raise NotFound()
    row = dict(rows[0])
    row["article_ids"] = frozenset(row["article_ids"])
    typed = json.loads(row["typed_address"])
    row["typed_address"] = typed if row["delivery_address_id"] is None and any(typed.values()) else {}
    return Draft(**row)


async def _touch(draft_id: int, values: dict) -> None:
    await Incident.update({**values, Incident.updated_at: datetime.now(timezone.utc)}).where(
        Incident.id == draft_id
    )


async def contract_articles(contract_id: int) -> list[dict]:
    return await Article.select(Article.id, Article.designation, Article.product_reference,
                                Article.serial_number, Article.kind).where(
        Article.contract == contract_id).order_by(Article.position).order_by(Article.id)


def _check_declaration(values: Mapping[str, str], article_ids: Sequence[str], allowed: set[int]) -> tuple[str, str | None, set[int], dict[str, str]]:
    v = Validator(values)
    title = v.text("title", max_length=200)
    nature = v.raw("nature") or None
    if not nature:
        v.fail("nature", REQUIRED)
    elif nature not in NATURE_LABELS:
        v.fail("nature", "Choisissez une nature d'incident dans la liste.")
        nature = None
    chosen = {int(a) for a in article_ids if a.isdigit()}
    if not chosen:
        v.fail("articles", "Cochez au moins un produit concerné.")
    elif not chosen <= allowed:
        v.fail("articles", "Ce produit ne fait pas partie de ce contrat.")
    return title, nature, chosen & allowed, v.errors


async def save_declaration(user: CurrentUser, draft: Draft, values: Mapping[str, str],
                           article_ids: Sequence[str], *, judge: bool = True) -> None:
    """Ma déclaration: title, nature, concerned articles. `judge=False` (going back) keeps all."""
    allowed = {a["id"] for a in await contract_articles(draft.contract_id)}
    title, nature, chosen, errors = _check_declaration(values, article_ids, allowed)
    async with Incident._meta.db.transaction():
        await _touch(draft.id, {Incident.title: title[:200], Incident.nature: nature,
                                **({Incident.wizard_step: "description"} if judge and not errors else {})})
        await IncidentArticle.delete().where(IncidentArticle.incident == draft.id)
        if chosen:
            await IncidentArticle.insert(*[IncidentArticle(incident=draft.id, article=a) for a in sorted(chosen)])
        if judge and errors:
            raise ValidationFailed(errors)


async def save_description(user: CurrentUser, draft: Draft, values: Mapping[str, str], *,
                           judge: bool = True) -> None:
    v = Validator(values)
    description = v.text("description", max_length=10000)
    await _touch(draft.id, {Incident.description: description[:10000],
                            **({Incident.wizard_step: "address"} if judge and not v.errors else {})})
    if judge:
        v.check()


async def company_addresses(company_id: int) -> list[dict]:
    """The delivery addresses the wizard offers: not archived, the default one first."""
    return await DeliveryAddress.select().where(
        (DeliveryAddress.company == company_id) & DeliveryAddress.archived_at.is_null()
    ).order_by(DeliveryAddress.is_default, ascending=False).order_by(DeliveryAddress.label)


async def save_address(user: CurrentUser, draft: Draft, values: Mapping[str, str], *,
                       judge: bool = True) -> None:
    """Mon adresse de livraison: one of the address book, or a new one saved to it."""
    choice = values.get("address", "")
    if choice == "new":
        if not judge:  # going back: kept on the draft for later, not added to the address book
            await _touch(draft.id, {Incident.delivery_address: None, **{
                column: printable(values.get(f"new_{name}", "")).strip()[:column.length]
                for name, column in ADDRESS_COPY.items()}})
            return
        address = check_address(values, prefix="new_")
        async with Incident._meta.db.transaction():
            rows = await DeliveryAddress.insert(DeliveryAddress(company=user.company_id, **address)).returning(
                DeliveryAddress.id)
            await _touch(draft.id, {Incident.delivery_address: rows[0]["id"], Incident.wizard_step: "review"})
        return
    offered = {a["id"] for a in await company_addresses(user.company_id)}
    if choice.isdigit() and int(choice) in offered:
        await _touch(draft.id, {Incident.delivery_address: int(choice),
                                **({Incident.wizard_step: "review"} if judge else {})})
    elif judge:
        raise ValidationFailed({"address": "Sélectionnez une adresse ou saisissez une nouvelle adresse."})


def missing_steps(draft: Draft) -> dict[str, str]:
    """Which step still lacks something, with the message; empty when the draft can be submitted."""
    missing: dict[str, str] = {}
    if not draft.title or not draft.nature or not draft.article_ids:
        missing["declaration"] = "Complétez l'intitulé, la nature et les produits concernés."
    if not draft.description:
        missing["description"] = "Décrivez la panne."
    if draft.delivery_address_id is None:
        missing["address"] = "Choisissez une adresse de livraison."
    return missing


async def submit(user: CurrentUser, draft_id: int, *, ip: str = "") -> str:
    """Valider ma déclaration: the draft becomes incident n° YYMMDDNN; returns the number."""
    async with Incident._meta.db.transaction():
        locked = await Incident.raw(
            "SELECT id FROM incident WHERE id = {} AND created_by = {} AND status = 'draft' FOR UPDATE",
            draft_id, user.id,
        )
        if not locked:
            raise NotFound()
        draft = await load_draft(user, draft_id)
        if draft.ends_on < today_paris():
            raise Forbidden(EXPIRED)
        if missing := missing_steps(draft):
            raise ValidationFailed(missing)
        address = await DeliveryAddress.select().where(
            (DeliveryAddress.id == draft.delivery_address_id) & (DeliveryAddress.company == user.company_id)
        ).first()
        if address is None or address["archived_at"] is not None:
            raise ValidationFailed({"address": "Cette adresse n'est plus disponible : choisissez-en une autre."})
        number = await allocate_number()
        now = datetime.now(timezone.utc)
        await Incident.update({
            Incident.number: number, Incident.status: "new", Incident.wizard_step: "done",
            Incident.submitted_at: now, Incident.updated_at: now, Incident.last_activity_at: now,
            **{column: address[name] for name, column in ADDRESS_COPY.items()},
        }).where(Incident.id == draft_id)
        await IncidentStatusChange.insert(IncidentStatusChange(
            incident=draft_id, from_status=None, to_status="new", changed_by=user.id, changed_at=now))
        await notify(await reseller_staff(draft.reseller_id), kind="new_incident",
                     title=f"[Nouvel incident] Incident n. {number}", body=draft.title,
                     incident_id=draft_id)
        await audit.record("incident_declared", actor_id=user.id, object_type="incident",
                           object_id=number, ip=ip)
    return number


async def purge_stale_drafts(now: datetime | None = None) -> int:
    """Drafts untouched for 30 days go, with their files."""
    limit = (now or datetime.now(timezone.utc)) - DRAFT_LIFETIME
    stale = await Incident.select(Incident.id).where((Incident.status == "draft") & (Incident.updated_at < limit))
    ids = [row["id"] for row in stale]
    if not ids:
        return 0
    files = await Attachment.select(Attachment.stored_name).where(Attachment.incident.is_in(ids))
    await Incident.delete().where(Incident.id.is_in(ids))
    for row in files:
        await discard(row["stored_name"])
    return len(ids)
