"""The reseller's contracts and clients: search, the contract page, the companies holding them.

Tenancy is enforced here: every function takes the reseller it works for; another reseller's
contract, or a company holding none of this reseller's contracts, is NotFound like one that does
not exist. The contract form (create, edit) is in app/contracts/contract_form.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.contracts.serials import normalise_serial
from app.contracts.services import CONTRACT_SEARCH, Protection, contract_search_args, protection_on
from app.db.tables import Article, Company, Contract, Incident, IncidentArticle
from app.errors import NotFound
from app.incidents.statuses import OPEN_STATUSES, OPEN_STATUSES_SQL, STATUS_LABELS
from app.validation import like_pattern, search_text
from app.pagination import TOTAL, Count, Page, fetch_page, page_bounds

KIND_LABELS = {"nas": "NAS", "disk": "Disque", "other": "Autre"}
INCIDENT_STATUS_LABELS = {**STATUS_LABELS, "waiting_customer": "En attente du client"}


# --- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractRow:
    id: int
    number: str
    product_reference: str
    nas_serial: str
    starts_on: date
    ends_on: date
    company_id: int | None
    company_name: str
    activated_at: datetime | None

    def protection(self, today: date) -> Protection:
        return protection_on(self.ends_on, today)


@dataclass(frozen=True)
class ArticleView:
    id: int
    kind: str
    designation: str
    product_reference: str
    serial_number: str
    specs_url: str
    specs_text: str
    cited: bool

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class IncidentRow:
    number: str
    title: str
    status: str
    contract_number: str
    product_reference: str
    nas_serial: str
    submitted_at: datetime | None
    last_activity_at: datetime

    @property
    def status_label(self) -> str:
        return INCIDENT_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class ContractView:
    id: int
    number: str
    product_reference: str
    starts_on: date
    ends_on: date
    created_at: datetime
    updated_at: datetime
    company_id: int | None
    company_name: str
    activated_at: datetime | None
    activated_by_name: str
    articles: list[ArticleView]
    incidents: list[IncidentRow]

    @property
    def nas(self) -> ArticleView | None:
        return next((a for a in self.articles if a.kind == "nas"), None)

    def protection(self, today: date) -> Protection:
        return protection_on(self.ends_on, today)


async def list_contracts(reseller_id: int, *, query: str = "", company_id: int | None = None,
                         page: int = 1) -> Page[ContractRow]:
    """The reseller's contracts, newest first, matching `query` on number, product reference,
    any article serial or the holding company's name; optionally those of one company."""
    query = search_text(query)
    number, limit, offset = page_bounds(page)
    where = "c.reseller = {}"
    args: list[object] = [reseller_id]
    if company_id is not None:
        where += " AND c.company = {}"
        args.append(company_id)
    if query and (exact := await _exact_contracts(reseller_id, query, company_id)):
        # A whole contract number or serial: those contracts, by index probes. A substring
        # search reads every contract of the reseller (320 ms for one of 100,000).
        where += " AND c.id = ANY({})"
        args.append(exact)
    elif query:
        where += f" AND ({CONTRACT_SEARCH} OR co.name ILIKE {{}})"
        args += [*contract_search_args(query), like_pattern(query)]
    joins = "FROM contract c LEFT JOIN company co ON co.id = c.company"
    # A reseller may hold 100,000 contracts: counted up to a cap past the page ("plus de").
    rows, total, lower_bound = await fetch_page(
        Contract,
        f"""SELECT {TOTAL}, c.id, c.number, c.product_reference, c.starts_on, c.ends_on, c.activated_at,
                   c.company AS company_id, coalesce(co.name, '') AS company_name,
                   coalesce(a.serial_number, '') AS nas_serial
            {joins}
            LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'
            WHERE {where}
            ORDER BY c.created_at DESC, c.id DESC
            LIMIT {{}} OFFSET {{}}""",
        *args, limit, offset,
        count=Count.up_to(f"{joins} WHERE {where}", *args, offset=offset), offset=offset,
    )
    return Page([ContractRow(**row) for row in rows], number, total, total_is_lower_bound=lower_bound)


async def _exact_contracts(reseller_id: int, query: str, company_id: int | None) -> list[int]:
    """The reseller's contracts (of `company_id` if given) numbered `query`, as typed or in
    capitals, or holding an article whose serial is `query`."""
    company = "" if company_id is None else " AND c.company = {}"
    company_args = () if company_id is None else (company_id,)
    rows = await Contract.raw(
        f"""SELECT c.id FROM contract c WHERE c.number IN ({{}}, {{}}) AND c.reseller = {{}}{company}
            UNION
            SELECT c.id FROM article a JOIN contract c ON c.id = a.contract
            WHERE a.serial_number = {{}} AND c.reseller = {{}}{company}""",
        query, query.upper(), reseller_id, *company_args, normalise_serial(query), reseller_id, *company_args,
    )
    return [row["id"] for row in rows]


async def reseller_contract(reseller_id: int, number: str, *, lock: bool = False) -> dict:
    rows = await Contract.raw(
        "SELECT * FROM contract WHERE number = {} AND reseller = {}" + (" FOR UPDATE" if lock else ""),
        number, reseller_id,
    )
    if not rows:
        raise NotFound()
    return rows[0]


async def cited_article_ids(contract_id: int) -> set[int]:
    rows = await IncidentArticle.raw(
        """SELECT DISTINCT ia.article FROM incident_article ia JOIN article a ON a.id = ia.article
           WHERE a.contract = {}""",
        contract_id,
    )
    return {row["article"] for row in rows}


async def contract_articles(contract_id: int) -> list[ArticleView]:
    cited = await cited_article_ids(contract_id)
    rows = await Article.select(
        Article.id, Article.kind, Article.designation, Article.product_reference, Article.serial_number,
        Article.specs_url, Article.specs_text,
    ).where(Article.contract == contract_id).order_by(Article.position).order_by(Article.id)
    return [ArticleView(**row, cited=row["id"] in cited) for row in rows]


_INCIDENT_COLUMNS = """i.number, i.title, i.status, c.number AS contract_number, c.product_reference,
           coalesce(a.serial_number, '') AS nas_serial, i.submitted_at, i.last_activity_at"""
_INCIDENT_FROM = """FROM incident i JOIN contract c ON c.id = i.contract
    LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'"""
_INCIDENT_ROWS = f"SELECT {_INCIDENT_COLUMNS} {_INCIDENT_FROM}"


async def contract_detail(reseller_id: int, number: str) -> ContractView:
    """One of the reseller's contracts: its articles, who activated it and when, its incidents."""
    contract = await reseller_contract(reseller_id, number)
    holder = await Contract.raw(
        """SELECT coalesce(co.name, '') AS company_name,
                  coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username, '')
                      AS activated_by_name
           FROM contract c LEFT JOIN company co ON co.id = c.company
           LEFT JOIN app_user u ON u.id = c.activated_by
           WHERE c.id = {}""",
        contract["id"],
    )
    incidents = await Incident.raw(
        _INCIDENT_ROWS + """ WHERE i.contract = {} AND i.status <> 'draft'
                              ORDER BY i.last_activity_at DESC, i.id DESC""",
        contract["id"],
    )
    return ContractView(
        id=contract["id"], number=contract["number"], product_reference=contract["product_reference"],
        starts_on=contract["starts_on"], ends_on=contract["ends_on"], created_at=contract["created_at"],
        updated_at=contract["updated_at"], company_id=contract["company"],
        company_name=holder[0]["company_name"], activated_at=contract["activated_at"],
        activated_by_name=holder[0]["activated_by_name"], articles=await contract_articles(contract["id"]),
        incidents=[IncidentRow(**row) for row in incidents],
    )

# --- clients ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientRow:
    id: int
    name: str
    postal_code: str
    city: str
    email: str
    phone: str
    contracts: int
    open_incidents: int


@dataclass(frozen=True)
class ClientView:
    id: int
    name: str
    street: str
    complement: str
    postal_code: str
    city: str
    country: str
    email: str
    phone: str
    contracts: int
    incidents: int
    open_incidents: int


async def list_clients(reseller_id: int, *, query: str = "", page: int = 1) -> Page[ClientRow]:
    """The companies holding the reseller's contracts, by name, with their counts of the
    reseller's contracts and of open incidents on them; `query` matches name, city or e-mail."""
    query = search_text(query)
    number, limit, offset = page_bounds(page)
    # Companies read by name, each kept if it holds one of the reseller's contracts: a page reads
    # a few dozen companies rather than grouping all the reseller's contracts (370 ms for one of
    # 100,000); for a reseller with few clients the planner starts from its contracts instead.
    # The reseller's id is written into the statement (an int, never text from the request): as a
    # parameter, PostgreSQL turns to one generic plan after five executions, the plan for a
    # reseller of 150 contracts, which takes 140-200 ms for the one of 100,000.
    reseller = int(reseller_id)
    from_where = f"FROM company co WHERE EXISTS (SELECT 1 FROM contract c WHERE c.reseller = {reseller} AND c.company = co.id)"
    args: list[object] = []
    if query:
        from_where += " AND (co.name ILIKE {} OR co.city ILIKE {} OR co.email ILIKE {})"
        args += [like_pattern(query)] * 3
    rows, total, lower_bound = await fetch_page(
        Company,
        f"""SELECT {TOTAL}, co.id, co.name, co.postal_code, co.city, co.email, co.phone,
                   (SELECT count(*) FROM contract c WHERE c.company = co.id AND c.reseller = {reseller}) AS contracts,
                   (SELECT count(*) FROM incident i
                    WHERE i.company = co.id AND i.reseller = {reseller} AND i.status IN {OPEN_STATUSES_SQL}) AS open_incidents
            {from_where}
            ORDER BY lower(co.name), co.id
            LIMIT {{}} OFFSET {{}}""",
        *args, limit, offset,
        count=Count.up_to(from_where, *args, offset=offset), offset=offset,
    )
    return Page([ClientRow(**row) for row in rows], number, total, total_is_lower_bound=lower_bound)


async def client_detail(reseller_id: int, company_id: int) -> ClientView:
    """A company holding at least one of the reseller's contracts, with its counts; else NotFound."""
    rows = await Company.raw(
        f"""SELECT co.id, co.name, co.street, co.complement, co.postal_code, co.city, co.country,
                   co.email, co.phone,
                   (SELECT count(*) FROM contract c WHERE c.company = co.id AND c.reseller = {{}}) AS contracts,
                   (SELECT count(*) FROM incident i
                    WHERE i.company = co.id AND i.reseller = {{}} AND i.status <> 'draft') AS incidents,
                   (SELECT count(*) FROM incident i
                    WHERE i.company = co.id AND i.reseller = {{}} AND i.status IN {OPEN_STATUSES_SQL}) AS open_incidents
            FROM company co WHERE co.id = {{}}""",
        reseller_id, reseller_id, reseller_id, company_id,
    )
    if not rows or rows[0]["contracts"] == 0:
        raise NotFound()
    return ClientView(**rows[0])


async def client_incidents(reseller_id: int, company_id: int, *, page: int = 1) -> Page[IncidentRow]:
    """The company's incidents on the reseller's contracts, latest activity first (drafts excluded)."""
    number, limit, offset = page_bounds(page)
    where = "i.company = {} AND i.reseller = {} AND i.status <> 'draft'"
    rows, total, _ = await fetch_page(
        Incident,
        f"SELECT {TOTAL}, {_INCIDENT_COLUMNS} {_INCIDENT_FROM}"
        f" WHERE {where} ORDER BY i.last_activity_at DESC, i.id DESC LIMIT {{}} OFFSET {{}}",
        company_id, reseller_id, limit, offset,
        count=Count(f"SELECT count(*) FROM incident i WHERE {where}", (company_id, reseller_id)), offset=offset,
    )
    return Page([IncidentRow(**row) for row in rows], number, total)
