"""Submitted incidents as a customer company sees them: the list, the tabs, messaging, files.

Tenancy: every read takes the company; another company's incident, and a draft, are NotFound.
Internal notes (visibility `internal`) never leave this module towards a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from app import audit
from app.accounts.sessions import CurrentUser
from app.db.tables import Attachment, Incident, IncidentStatusChange, Message
from app.errors import Forbidden, NotFound
from app.incidents.statuses import CUSTOMER_FILTERS, NATURE_LABELS, STATUS_LABELS, STATUS_SENTENCES
from app.notifications.services import notify, reseller_staff
from app.pagination import TOTAL, Count, Page, fetch_page, page_bounds
from app.validation import Validator


@dataclass(frozen=True)
class IncidentRow:
    number: str
    title: str
    status: str
    product_reference: str
    nas_serial: str
    submitted_at: datetime

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


async def list_company_incidents(company_id: int, *, status: str = "", page: int = 1) -> Page[IncidentRow]:
    """Mes incidents: newest first, optionally of one status."""
    number, limit, offset = page_bounds(page)
    where = "i.company = {} AND i.status <> 'draft'"
    args: list[object] = [company_id]
    if status in CUSTOMER_FILTERS:
        where += " AND i.status = {}"
        args.append(status)
    rows, total, _ = await fetch_page(
        Incident,
        f"""SELECT {TOTAL}, i.number, i.title, i.status, c.product_reference, i.submitted_at,
                   coalesce(a.serial_number, '') AS nas_serial
            FROM incident i JOIN contract c ON c.id = i.contract
            LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'
            WHERE {where}
            ORDER BY i.submitted_at DESC, i.id DESC
            LIMIT {{}} OFFSET {{}}""",
        *args, limit, offset, count=Count(f"SELECT count(*) FROM incident i WHERE {where}", tuple(args)), offset=offset,
    )
    return Page([IncidentRow(**row) for row in rows], number, total)


@dataclass(frozen=True)
class MessageView:
    id: int
    body: str
    created_at: datetime
    author_name: str
    author_is_reseller: bool
    visibility: str
    attachments: list[dict]


@dataclass(frozen=True)
class IncidentView:
    id: int
    number: str
    title: str
    nature: str
    description: str
    status: str
    submitted_at: datetime
    resolved_at: datetime | None
    contract_number: str
    product_reference: str
    starts_on: date
    ends_on: date
    reseller_id: int
    reseller: dict
    articles: list[dict]
    delivery: dict
    attachments: list[dict]
    created_by_name: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def status_sentence(self) -> str:
        return STATUS_SENTENCES[self.status]

    @property
    def nature_label(self) -> str:
        return NATURE_LABELS.get(self.nature, "")

    @property
    def nas_serial(self) -> str:
        return next((a["serial_number"] for a in self.articles if a["kind"] == "nas"), "")

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


_INCIDENT_SQL = """
SELECT i.id, i.number, i.title, i.nature, i.description, i.status, i.submitted_at, i.resolved_at,
       i.delivery_label, i.delivery_recipient, i.delivery_street, i.delivery_complement,
       i.delivery_city, i.delivery_postal_code, i.delivery_country, i.delivery_email, i.delivery_phone,
       c.number AS contract_number, c.product_reference, c.starts_on, c.ends_on, c.reseller AS reseller_id,
       coalesce(u.first_name || ' ' || u.last_name, '') AS created_by_name,
       r.name AS r_name, r.street AS r_street, r.complement AS r_complement, r.postal_code AS r_postal_code,
       r.city AS r_city, r.country AS r_country, r.email AS r_email, r.phone AS r_phone
FROM incident i
JOIN contract c ON c.id = i.contract
JOIN reseller r ON r.id = c.reseller
LEFT JOIN app_user u ON u.id = i.created_by
WHERE i.number = {} AND i.status <> 'draft' AND """


async def load_incident(number: str, *, company_id: int | None = None, reseller_id: int | None = None) -> IncidentView:
    """One submitted incident, seen by its company or by the reseller of its contract."""
    if company_id is not None:
        rows = await Incident.raw(_INCIDENT_SQL + "i.company = {}", number, company_id)
    elif reseller_id is not None:
        rows = await Incident.raw(_INCIDENT_SQL + "c.reseller = {}", number, reseller_id)
    else:
        rows = []
    if not rows:
        raise NotFound()
    row = rows[0]
    articles = await Incident.raw(
        """SELECT a.id, a.designation, a.product_reference, a.serial_number, a.kind
           FROM incident_article ia JOIN article a ON a.id = ia.article
           WHERE ia.incident = {} ORDER BY a.position, a.id""",
        row["id"],
    )
    return IncidentView(
        id=row["id"], number=row["number"], title=row["title"], nature=row["nature"],
        description=row["description"], status=row["status"], submitted_at=row["submitted_at"],
        resolved_at=row["resolved_at"], contract_number=row["contract_number"],
        product_reference=row["product_reference"], starts_on=row["starts_on"], ends_on=row["ends_on"],
        reseller_id=row["reseller_id"],
        reseller={k[2:]: v for k, v in row.items() if k.startswith("r_")},
        articles=articles,
        delivery={k.removeprefix("delivery_"): v for k, v in row.items() if k.startswith("delivery_")},
        attachments=await incident_attachments(row["id"], for_customer=company_id is not None),
        created_by_name=row["created_by_name"],
    )


async def incident_attachments(incident_id: int, *, for_customer: bool = False) -> list[dict]:
    """Every file of the incident, deleted ones included (their row tells who deleted them).

    A customer does not see the files a reseller user has uploaded for a reply not sent yet.
    """
    visible = " AND (f.message IS NOT NULL OR u.company IS NOT NULL)" if for_customer else ""
    return await Attachment.raw(
        """SELECT f.id, f.original_name, f.content_type, f.size, f.uploaded_at, f.uploaded_by, f.deleted_at,
                  f.message, coalesce(u.first_name || ' ' || u.last_name, '') AS uploaded_by_name,
                  coalesce(d.first_name || ' ' || d.last_name, '') AS deleted_by_name
           FROM attachment f
           LEFT JOIN app_user u ON u.id = f.uploaded_by
           LEFT JOIN app_user d ON d.id = f.deleted_by
           WHERE f.incident = {}""" + visible + " ORDER BY f.uploaded_at, f.id",
        incident_id,
    )


async def thread(incident_id: int, *, include_internal: bool = False) -> list[MessageView]:
    """The messages, oldest first; internal notes only when asked for (reseller side)."""
    visibility = "" if include_internal else " AND m.visibility = 'public'"
    rows = await Message.raw(
        f"""SELECT m.id, m.body, m.created_at, m.visibility,
                   coalesce(u.first_name || ' ' || u.last_name, 'Utilisateur supprimé') AS author_name,
                   (u.reseller IS NOT NULL) AS author_is_reseller
            FROM message m LEFT JOIN app_user u ON u.id = m.author
            WHERE m.incident = {{}}{visibility}
            ORDER BY m.created_at, m.id""",
        incident_id,
    )
    files: dict[int, list[dict]] = {}
    for attachment in await incident_attachments(incident_id):
        if attachment["message"] is not None:
            files.setdefault(attachment["message"], []).append(attachment)
    return [MessageView(**row, attachments=files.get(row["id"], [])) for row in rows]


async def status_history(incident_id: int) -> list[dict]:
    return await IncidentStatusChange.raw(
        """SELECT h.from_status, h.to_status, h.changed_at,
                  coalesce(u.first_name || ' ' || u.last_name, '') AS changed_by_name
           FROM incident_status_change h LEFT JOIN app_user u ON u.id = h.changed_by
           WHERE h.incident = {} ORDER BY h.changed_at, h.id""",
        incident_id,
    )


async def change_status(incident_id: int, from_status: str, to_status: str, user_id: int) -> None:
    """Record a status change and its history row (callers check that the move is allowed)."""
    now = datetime.now(timezone.utc)
    await Incident.update({
        Incident.status: to_status, Incident.updated_at: now, Incident.last_activity_at: now,
        **({Incident.resolved_at: now} if to_status == "resolved" else {}),
    }).where(Incident.id == incident_id)
    await IncidentStatusChange.insert(IncidentStatusChange(
        incident=incident_id, from_status=from_status, to_status=to_status, changed_by=user_id,
        changed_at=now))


async def post_message(incident_id: int, author_id: int, body: str, *, visibility: str = "public",
                       attachment_ids: list[int] = (), at: datetime | None = None) -> int:
    """Write a message; the files its author uploaded for it (not yet sent) join it."""
    message_id = (await Message.insert(Message(
        incident=incident_id, author=author_id, body=body, visibility=visibility,
        created_at=at or datetime.now(timezone.utc),
    )).returning(Message.id))[0]["id"]
    if attachment_ids:
        await Attachment.update({Attachment.message: message_id}).where(
            (Attachment.incident == incident_id) & (Attachment.uploaded_by == author_id)
            & Attachment.message.is_null() & Attachment.id.is_in(list(attachment_ids))
        )
    return message_id


async def customer_reply(user: CurrentUser, number: str, body: str, *,
                         attachment_ids: list[int] = (), ip: str = "") -> int:
    """A customer administrator's message; it reopens a resolved (or awaited) incident.

    The files the user uploaded on the Messagerie tab since the last reply join the message.
    Returns the message id.
    """
    if not user.is_admin:
        raise Forbidden("Votre compte est en lecture seule.")
    v = Validator({"body": body})
    text = v.text("body", max_length=10000)
    v.check()
    async with Incident._meta.db.transaction():
        rows = await Incident.raw(
            "SELECT id, status, number, contract FROM incident WHERE number = {} AND company = {} "
            "AND status <> 'draft' FOR UPDATE",
            number, user.company_id,
        )
        if not rows:
            raise NotFound()
        incident = rows[0]
        if incident["status"] == "closed":
            raise Forbidden("Cet incident est clos : il n'accepte plus de message.")
        now = datetime.now(timezone.utc)
        message_id = await post_message(incident["id"], user.id, text, attachment_ids=attachment_ids, at=now)
        if incident["status"] in ("resolved", "waiting_customer"):
            await change_status(incident["id"], incident["status"], "in_progress", user.id)
        else:
            await Incident.update({Incident.last_activity_at: now, Incident.updated_at: now}).where(
                Incident.id == incident["id"])
        reseller_id = (await Incident.raw("SELECT reseller FROM contract WHERE id = {}",
                                          incident["contract"]))[0]["reseller"]
        await notify(await reseller_staff(reseller_id), kind="new_message",
                     title=f"[Nouveau message] Incident n. {number}", body=text[:200],
                     incident_id=incident["id"])
        await audit.record("incident_message", actor_id=user.id, object_type="incident",
                           object_id=number, ip=ip)
    return message_id


async def find_attachment(incident_id: int, attachment_id: int) -> dict:
    row = await Attachment.select().where(
        (Attachment.id == attachment_id) & (Attachment.incident == incident_id)
    ).first()
    if row is None:
        raise NotFound()
    return row
