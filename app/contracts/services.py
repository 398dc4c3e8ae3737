"""Contracts as a customer company sees them: list, detail, activation, extension quotes.

Tenancy is enforced here: every function takes the company it works for, and a contract of
another company (or an unclaimed one) is NotFound, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import asyncpg

from app import audit
from app.accounts import ratelimit
from app.contracts.serials import normalise_serial
from app.db.tables import Contract, QuoteRequest
from app.errors import NotFound, ValidationFailed
from app.notifications.services import notify, reseller_staff
from app.validation import like_pattern, search_text
from app.pagination import TOTAL, Count, Page, fetch_page, page_bounds

UNKNOWN_SERIAL = "Aucun contrat ne correspond à ce numéro de série."
SERIAL_ELSEWHERE = (
    "Ce numéro de série est déjà associé à un autre compte — contactez votre revendeur."
)
SERIAL_ALREADY_HERE = "Ce contrat est déjà dans votre espace."
QUOTE_ALREADY_OPEN = (
    "Une demande de devis pour cette extension est déjà en cours : votre revendeur vous répondra."
)
ENDING_SOON_DAYS = 60
QUOTE_STATUS_LABELS = {"requested": "Demande envoyée", "answered": "Devis reçu", "closed": "Clos"}


@dataclass(frozen=True)
class Protection:
    """Where a contract stands on a given day: `ok`, `ending` (under 60 days left) or `expired`."""

    state: str
    ends_on: date
    days_left: int

    @property
    def is_protected(self) -> bool:
        return self.state != "expired"


def protection_on(ends_on: date, today: date) -> Protection:
    days_left = (ends_on - today).days
    if days_left < 0:
        return Protection("expired", ends_on, days_left)
    return Protection("ending" if days_left < ENDING_SOON_DAYS else "ok", ends_on, days_left)


@dataclass(frozen=True)
class ContractRow:
    id: int
    number: str
    product_reference: str
    nas_serial: str
    starts_on: date
    ends_on: date

    def protection(self, today: date) -> Protection:
        return protection_on(self.ends_on, today)


@dataclass(frozen=True)
class ArticleView:
    id: int
    designation: str
    product_reference: str
    serial_number: str
    kind: str
    specs_url: str
    specs_text: str


@dataclass(frozen=True)
class OfferView:
    id: int
    code: str
    label: str
    duration_months: int


@dataclass(frozen=True)
class QuoteView:
    id: int
    offer_id: int
    offer_code: str
    offer_label: str
    status: str
    requested_at: datetime
    answer: str
    answered_at: datetime | None

    @property
    def status_label(self) -> str:
        return QUOTE_STATUS_LABELS[self.status]


@dataclass(frozen=True)
class ResellerView:
    name: str
    street: str
    complement: str
    postal_code: str
    city: str
    country: str
    email: str
    phone: str


@dataclass(frozen=True)
class ContractDetail:
    id: int
    number: str
    product_reference: str
    starts_on: date
    ends_on: date
    reseller_id: int
    reseller: ResellerView
    articles: list[ArticleView]
    offers: list[OfferView]
    quotes: list[QuoteView]

    @property
    def nas(self) -> ArticleView | None:
        return next((a for a in self.articles if a.kind == "nas"), None)

    def protection(self, today: date) -> Protection:
        return protection_on(self.ends_on, today)

    def open_quote_for(self, offer_id: int) -> QuoteView | None:
        return next((q for q in self.quotes if q.offer_id == offer_id and q.status != "closed"), None)


# A query matches the contract's number, its product reference or any of its articles' serials,
# all in contract.search_text (upper case, kept by triggers): as typed, or as a serial is written
# (no spaces, see normalise_serial).
CONTRACT_SEARCH = "c.search_text LIKE upper({}) OR c.search_text LIKE {}"


def contract_search_args(query: str) -> list[str]:
    return [like_pattern(query), like_pattern(normalise_serial(query))]


async def list_company_contracts(company_id: int, *, query: str = "", page: int = 1) -> Page[ContractRow]:
    """The company's contracts, matching `query` on number, product reference or any serial."""
    query = search_text(query)
    number, limit, offset = page_bounds(page)
    where = "c.company = {}"
    args: list[object] = [company_id]
    if query:
        where += f" AND ({CONTRACT_SEARCH})"
        args += contract_search_args(query)
    rows, total, _ = await fetch_page(
        Contract,
        f"""SELECT {TOTAL}, c.id, c.number, c.product_reference, c.starts_on, c.ends_on,
                   coalesce(a.serial_number, '') AS nas_serial
            FROM contract c
            LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'
            WHERE {where}
            ORDER BY c.ends_on DESC, c.number
            LIMIT {{}} OFFSET {{}}""",
        *args, limit, offset,
        count=Count(f"SELECT count(*) FROM contract c WHERE {where}", tuple(args), over_page_rows=bool(query)),
        offset=offset,
    )
    return Page([ContractRow(**row) for row in rows], number, total)


async def _company_contract(company_id: int, number: str) -> dict:
    row = await Contract.select().where(
        (Contract.number == number) & (Contract.company == company_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


# One round trip for the whole contract page: the contract, its reseller, and its articles, offers
# and quote requests as arrays of anonymous records (asyncpg decodes them with their own types).
# The offers are the reseller's active ones for the product or any article's reference.
_DETAIL_SQL = """
SELECT c.id, c.number, c.product_reference, c.starts_on, c.ends_on, c.reseller AS reseller_id,
       (r.name, r.street, r.complement, r.postal_code, r.city, r.country, r.email, r.phone) AS reseller,
       ARRAY(SELECT (a.id, a.designation, a.product_reference, a.serial_number, a.kind, a.specs_url, a.specs_text)
             FROM article a WHERE a.contract = c.id ORDER BY a.position, a.id) AS articles,
       ARRAY(SELECT (o.id, o.code, o.label, o.duration_months)
             FROM extension_offer o
             WHERE o.reseller = c.reseller AND o.is_active
               AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(o.product_references) AS ref
                           WHERE upper(ref) = upper(c.product_reference)
                              OR upper(ref) IN (SELECT upper(a.product_reference) FROM article a
                                                WHERE a.contract = c.id))
             ORDER BY o.duration_months, o.code) AS offers,
       ARRAY(SELECT (q.id, q.offer, o.code, o.label, q.status, q.requested_at, q.answer, q.answered_at)
             FROM quote_request q JOIN extension_offer o ON o.id = q.offer
             WHERE q.contract = c.id ORDER BY q.requested_at DESC) AS quotes
FROM contract c JOIN reseller r ON r.id = c.reseller
WHERE c.number = {} AND c.company = {}
"""


async def contract_detail(company_id: int, number: str) -> ContractDetail:
    """One contract of the company with its articles, offers, quote requests and reseller."""
    rows = await Contract.raw(_DETAIL_SQL, number, company_id)
    if not rows:
        raise NotFound()
    row = rows[0]
    return ContractDetail(
        id=row["id"], number=row["number"], product_reference=row["product_reference"],
        starts_on=row["starts_on"], ends_on=row["ends_on"], reseller_id=row["reseller_id"],
        reseller=ResellerView(*row["reseller"]),
        articles=[ArticleView(*article) for article in row["articles"]],
        offers=[OfferView(*offer) for offer in row["offers"]],
        quotes=[QuoteView(*quote) for quote in row["quotes"]],
    )


async def serial_problem(serial: str, company_id: int | None = None) -> str | None:
    """Why this NAS serial cannot be claimed now, or None; `claim_contract` decides under lock."""
    rows = await Contract.raw(
        """SELECT c.company FROM contract c JOIN article a ON a.contract = c.id AND a.kind = 'nas'
           WHERE a.serial_number = {}""",
        normalise_serial(serial),
    )
    if not rows:
        return UNKNOWN_SERIAL
    if rows[0]["company"] is not None:
        return SERIAL_ALREADY_HERE if rows[0]["company"] == company_id else SERIAL_ELSEWHERE
    return None


async def claim_contract(company_id: int, user_id: int, serial: str, *, field: str = "serial") -> str:
    """Attach the contract whose NAS serial is `serial` to the company; returns its number.

    Call inside a transaction: the contract row is locked so two companies cannot both claim it.
    """
    normalised = normalise_serial(serial)
    if not normalised:
        raise ValidationFailed({field: "Ce champ est obligatoire."})
    rows = await Contract.raw(
        """SELECT c.id, c.number, c.company FROM contract c
           JOIN article a ON a.contract = c.id AND a.kind = 'nas'
           WHERE a.serial_number = {} FOR UPDATE OF c""",
        normalised,
    )
    if not rows:
        raise ValidationFailed({field: UNKNOWN_SERIAL})
    contract = rows[0]
    if contract["company"] == company_id:
        raise ValidationFailed({field: SERIAL_ALREADY_HERE})
    if contract["company"] is not None:
        raise ValidationFailed({field: SERIAL_ELSEWHERE})
    now = datetime.now(timezone.utc)
    await Contract.update(
        {Contract.company: company_id, Contract.activated_at: now, Contract.activated_by: user_id,
         Contract.updated_at: now}
    ).where(Contract.id == contract["id"])
    return contract["number"]


async def activate_contract(company_id: int, user_id: int, serial: str, *, ip: str = "") -> str:
    """Activer mon contrat: add the contract of this NAS serial to the company; returns its number.

    At most 10 attempts per company per hour, successful or not, so serials cannot be guessed.
    """
    await ratelimit.hit_and_check(ratelimit.ACTIVATION_PER_COMPANY, str(company_id))
    async with Contract._meta.db.transaction():
        number = await claim_contract(company_id, user_id, serial)
        await audit.record("contract_activated", actor_id=user_id, object_type="contract",
                           object_id=number, ip=ip)
    return number


async def request_quote(company_id: int, user_id: int, number: str, offer_id: int) -> QuoteView:
    """Demander un devis: record the request and notify every user of the contract's reseller."""
    async with Contract._meta.db.transaction():
        contract = await _company_contract(company_id, number)
        detail_offers = {offer.id: offer for offer in (await contract_detail(company_id, number)).offers}
        offer = detail_offers.get(offer_id)
        if offer is None:
            raise NotFound()
        try:
            rows = await QuoteRequest.insert(
                QuoteRequest(contract=contract["id"], offer=offer_id, requested_by=user_id)
            ).returning(QuoteRequest.id, QuoteRequest.requested_at)
        except asyncpg.UniqueViolationError as error:
            raise ValidationFailed({f"offer-{offer_id}": QUOTE_ALREADY_OPEN}) from error
        quote_id = rows[0]["id"]
        await notify(
            await reseller_staff(contract["reseller"]),
            kind="quote_request",
            title=f"[Demande de devis] Contrat n°{number}",
            body=f"{offer.code} — {offer.label}",
            quote_request_id=quote_id,
        )
    return QuoteView(quote_id, offer.id, offer.code, offer.label, "requested", rows[0]["requested_at"],
                     "", None)
