"""Incidents as the reseller handles them: the queue, replies, internal notes, status, assignment.

Tenancy: every function takes the reseller; an incident on another reseller's contract is
NotFound. Every public reply and status change notifies every active user of the customer
company in the same transaction; internal notes notify no customer, ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from app import audit
from app.accounts.sessions import CurrentUser
from app.contracts.serials import normalise_serial
from app.db.tables import Incident, Notification, User
from app.errors import Forbidden, NotFound, ValidationFailed
from app.incidents.services import change_status, post_message
from app.incidents.statuses import OPEN_STATUSES_SQL, STATUS_LABELS, STATUS_SENTENCES, TRANSITIONS, can_move
from app.notifications.channel import notifications_read, publish
from app.notifications.services import company_users, notify
from app.pagination import TOTAL, Count, Page, fetch_page, page_bounds
from app.validation import Validator, like_pattern, search_text

QUEUE_STATUS_FILTERS = {"open": "Ouverts", **{k: v for k, v in STATUS_LABELS.items() if k != "draft"}}
ASSIGNEE_FILTERS = {"mine": "Mes incidents", "unassigned": "Non assignés"}


@dataclass(frozen=True)
class QueueRow:
    number: str
    title: str
    status: str
    company_name: str
    product_reference: str
    nas_serial: str
    assignee_name: str
    last_activity_at: datetime
    unread: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


async def queue(user: CurrentUser, *, query: str = "", status: str = "", assignee: str = "",
                page: int = 1) -> Page[QueueRow]:
    """Every incident on the reseller's contracts, last activity first, filtered and searched.

    Each filter has its index in page order (migration "incident.reseller filled, kept true"), so
    a page reads its 25 rows and the count stops at COUNT_CAP past them. A search that is
    a whole incident number or serial number (what a reseller pastes from a label or a mail)
    finds its incidents through unique indexes; anything else is a substring search over number,
    customer, title and serials.
    """
    number, limit, offset = page_bounds(page)
    query = search_text(query)
    exact = await _exact_matches(user.reseller_id, query) if query else []
    if exact:
        # A handful of the reseller's incidents (submitted ones: _exact_matches said so), named
        # by id. Not "reseller = … ORDER BY last activity LIMIT": once the statement's plan turns
        # generic, PostgreSQL would walk the reseller's whole index looking for them.
        where, args = "i.id = ANY({})", [exact]
    else:
        where, args = "i.reseller = {} AND i.status <> 'draft'", [user.reseller_id]
    if status == "open":
        where += f" AND i.status IN {OPEN_STATUSES_SQL}"
    elif status in QUEUE_STATUS_FILTERS:
        where += " AND i.status = {}"
        args.append(status)
    if assignee == "mine":
        where += " AND i.assignee = {}"
        args.append(user.id)
    elif assignee == "unassigned":
        where += " AND i.assignee IS NULL"
    joins = "FROM incident i"
    if query and not exact:
        joins += " JOIN company co ON co.id = i.company"
        where += """ AND (i.number LIKE {} OR co.name ILIKE {} OR i.title ILIKE {}
                     OR EXISTS (SELECT 1 FROM article s WHERE s.contract = i.contract AND s.serial_number LIKE {}))"""
        args += [like_pattern(query.replace(" ", "")), like_pattern(query), like_pattern(query), like_pattern(normalise_serial(query))]
    count = (Count(f"SELECT count(*) {joins} WHERE {where}", tuple(args)) if exact
             else Count.up_to(f"{joins} WHERE {where}", *args, offset=offset))
    rows, total, lower_bound = await fetch_page(
        Incident,
        f"""SELECT {TOTAL}, i.number, i.title, i.status, co.name AS company_name, c.product_reference,
                   coalesce(a.serial_number, '') AS nas_serial, i.last_activity_at,
                   coalesce(u.first_name || ' ' || u.last_name, '') AS assignee_name,
                   EXISTS (SELECT 1 FROM notification n WHERE n.recipient = {{}} AND n.incident = i.id
                           AND n.read_at IS NULL) AS unread
            FROM (SELECT i.* {joins} WHERE {where}
                  ORDER BY i.last_activity_at DESC, i.id DESC LIMIT {{}} OFFSET {{}}) AS i
            JOIN contract c ON c.id = i.contract
            JOIN company co ON co.id = i.company
            LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'
            LEFT JOIN app_user u ON u.id = i.assignee
            ORDER BY i.last_activity_at DESC, i.id DESC""",
        user.id, *args, limit, offset, count=count, offset=offset,
    )
    return Page([QueueRow(**row) for row in rows], number, total, total_is_lower_bound=lower_bound)


async def _exact_matches(reseller_id: int, query: str) -> list[int]:
    """The reseller's incidents whose number is `query`, or on a contract with an article whose
    serial number is `query`: each a unique or plain index probe, whatever the queue's size."""
    rows = await Incident.raw(
        """SELECT id FROM incident WHERE number = {} AND reseller = {} AND status <> 'draft'
           UNION
           SELECT i.id FROM article a JOIN incident i ON i.contract = a.contract
           WHERE a.serial_number = {} AND i.reseller = {} AND i.status <> 'draft'""",
        query.replace(" ", ""), reseller_id, normalise_serial(query), reseller_id,
    )
    return [row["id"] for row in rows]


async def staff(reseller_id: int) -> list[dict]:
    """Who an incident can be assigned to: the reseller's active users."""
    return await User.raw(
        """SELECT id, first_name, last_name FROM app_user WHERE reseller = {} AND is_active
           ORDER BY lower(last_name), lower(first_name)""",
        reseller_id,
    )


async def _lock(user: CurrentUser, number: str) -> dict:
    rows = await Incident.raw(
        """SELECT i.id, i.status, i.company, i.assignee FROM incident i JOIN contract c ON c.id = i.contract
           WHERE i.number = {} AND c.reseller = {} AND i.status <> 'draft' FOR UPDATE OF i""",
        number, user.reseller_id,
    )
    if not rows:
        raise NotFound()
    return rows[0]


def _body(values_body: str) -> str:
    v = Validator({"body": values_body})
    text = v.text("body", max_length=10000)
    v.check()
    return text


async def reply(user: CurrentUser, number: str, body: str, *, attachment_ids: list[int] = (),
                ip: str = "") -> int:
    """Votre réponse: a public message; the customer company is notified. A new incident is taken in hand."""
    text = _body(body)
    async with Incident._meta.db.transaction():
        incident = await _lock(user, number)
        if incident["status"] == "closed":
            raise Forbidden("Cet incident est clos : il n'accepte plus de message.")
        now = datetime.now(timezone.utc)
        message_id = await post_message(incident["id"], user.id, text, attachment_ids=attachment_ids, at=now)
        if incident["status"] == "new":
            await change_status(incident["id"], "new", "in_progress", user.id)
        else:
            await Incident.update({Incident.last_activity_at: now, Incident.updated_at: now}).where(
                Incident.id == incident["id"])
        await notify(await company_users(incident["company"]), kind="new_message",
                     title=f"[Nouveau message] Incident n. {number}", body=text[:200], incident_id=incident["id"])
        await audit.record("incident_reply", actor_id=user.id, object_type="incident", object_id=number, ip=ip)
    return message_id


async def add_note(user: CurrentUser, number: str, body: str) -> int:
    """Note interne: seen by the reseller's users only; notifies no customer."""
    text = _body(body)
    async with Incident._meta.db.transaction():
        incident = await _lock(user, number)
        return await post_message(incident["id"], user.id, text, visibility="internal")


async def set_status(user: CurrentUser, number: str, to_status: str, *, ip: str = "") -> None:
    """Statut: only the moves of the workflow; the customer company hears of it."""
    async with Incident._meta.db.transaction():
        incident = await _lock(user, number)
        if to_status == incident["status"]:
            return
        if not can_move(incident["status"], to_status):
            allowed = ", ".join(STATUS_LABELS[s] for s in TRANSITIONS.get(incident["status"], ())) or "aucun"
            raise ValidationFailed({"status": f"Depuis « {STATUS_LABELS[incident['status']]} », "
                                              f"statuts possibles : {allowed}."})
        await change_status(incident["id"], incident["status"], to_status, user.id)
        await notify(await company_users(incident["company"]), kind="new_status",
                     title=f"[Nouveau statut] Incident n. {number}", body=STATUS_SENTENCES[to_status],
                     incident_id=incident["id"])
        await audit.record("incident_status", actor_id=user.id, object_type="incident", object_id=number,
                           ip=ip, to=to_status)


async def assign(user: CurrentUser, number: str, assignee_id: int | None) -> None:
    """Assigné à: one of the reseller's active users, or nobody."""
    async with Incident._meta.db.transaction():
        incident = await _lock(user, number)
        if assignee_id is not None and assignee_id not in {s["id"] for s in await staff(user.reseller_id)}:
            raise ValidationFailed({"assignee": "Choisissez un membre actif de votre équipe."})
        await Incident.update({Incident.assignee: assignee_id, Incident.updated_at: datetime.now(timezone.utc)}).where(
            Incident.id == incident["id"])


async def mark_incident_read(user: CurrentUser, incident_id: int) -> None:
    """Opening an incident reads its notifications: the queue's unread marker goes."""
    updated = await Notification.update({Notification.read_at: datetime.now(timezone.utc)}).where(
        (Notification.recipient == user.id) & (Notification.incident == incident_id)
        & Notification.read_at.is_null()).returning(Notification.id)
    if updated:
        await publish([notifications_read(user.id)])


async def handling_facts(incident_id: int) -> dict:
    """What the reseller's incident page shows beside the customer's tabs: assignee and customer."""
    rows = await Incident.raw(
        """SELECT i.assignee, co.name, co.street, co.complement, co.postal_code, co.city, co.country, co.email,
                  co.phone, coalesce(u.first_name || ' ' || u.last_name, '') AS declared_by,
                  coalesce(u.email, '') AS declared_by_email, coalesce(u.phone, '') AS declared_by_phone
           FROM incident i JOIN company co ON co.id = i.company LEFT JOIN app_user u ON u.id = i.created_by
           WHERE i.id = {}""",
        incident_id,
    )
    customer = dict(rows[0])
    return {"assignee_id": customer.pop("assignee"), "customer": customer}
