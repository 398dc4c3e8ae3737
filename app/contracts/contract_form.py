"""The reseller's contract form: a contract and its articles, checked, created or updated.

Tenancy: every function takes the reseller. Contract writes take the same lock as the CSV import
(app/contracts/csv_import.py), so a form save and an import never both pass their checks and
then collide.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import asyncpg

from app import audit
from app.contracts.csv_import import KINDS, RESERVED_NUMBERS
from app.contracts.serials import normalise_serial
from app.db.tables import Article, Contract
from app.errors import ValidationFailed
from app.validation import REQUIRED, Validator

from app.contracts.reseller_services import cited_article_ids, contract_articles, reseller_contract

# The reseller reads the workflow from its own side: the customer's "your answer" is awaited.
MAX_ARTICLES = 50
# Path segments of the contract screens: a contract number equal to one would be unreachable.

_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
_URL = re.compile(r"^https?://[^\s<>\"]+$")
_ARTICLE_FIELD = re.compile(
    r"^articles-([A-Za-z0-9]{1,16})-(id|kind|designation|reference|serial|specs_url|specs_text)$"
)
ARTICLE_FIELDS = ("kind", "designation", "reference", "serial", "specs_url", "specs_text")

NUMBER_FORMAT = "Lettres, chiffres et . _ - seulement, sans espace."
NUMBER_RESERVED = "Ce numéro est réservé : choisissez-en un autre."
NUMBER_TAKEN_HERE = "Le contrat n°{number} existe déjà."
NUMBER_TAKEN = "Ce numéro de contrat est déjà utilisé."
DATE_INVALID = "Date invalide (JJ/MM/AAAA)."
ENDS_BEFORE_START = "La fin de garantie doit être postérieure au début du contrat."
NO_ARTICLE = "Ajoutez au moins l'article NAS du contrat."
NO_NAS = "Le contrat doit avoir un article de type NAS : son n° de série identifie le contrat."
SECOND_NAS = "Un seul article NAS par contrat : choisissez un autre type."
KIND_INVALID = "Choisissez le type de l'article."
DUPLICATE_ARTICLE = "Ce n° de série figure déjà sur un autre article de ce type dans le contrat."
SERIAL_TAKEN_HERE = "Ce n° de série NAS est déjà rattaché au contrat n°{number}."
SERIAL_TAKEN = "Ce n° de série NAS est déjà rattaché à un autre contrat."
URL_INVALID = "Adresse invalide : elle doit commencer par http:// ou https://."
TOO_MANY_ARTICLES = f"{MAX_ARTICLES} articles au maximum par contrat."
CITED_REMOVED = "L'article {serial} est cité par un incident : il doit rester dans le contrat."
CITED_CHANGED = "Cet article est cité par un incident : son {what} ne peut plus changer."


# --- the contract form ---------------------------------------------------------------------------


@dataclass
class ArticleDraft:
    """One article row of the form as typed (strings), `key` naming its fields `articles-<key>-…`."""

    key: str
    id: int | None = None
    kind: str = "disk"
    designation: str = ""
    reference: str = ""
    serial: str = ""
    specs_url: str = ""
    specs_text: str = ""


@dataclass
class ContractDraft:
    """The contract form as typed: kept as strings so a refused form comes back unchanged."""

    number: str = ""
    product_reference: str = ""
    starts_on: str = ""
    ends_on: str = ""
    articles: list[ArticleDraft] = field(default_factory=list)

    def values(self) -> dict[str, str]:
        """The flat field values the form shows (`articles-<key>-serial`...)."""
        values = {"number": self.number, "product_reference": self.product_reference,
                  "starts_on": self.starts_on, "ends_on": self.ends_on}
        for article in self.articles:
            values[f"articles-{article.key}-id"] = "" if article.id is None else str(article.id)
            for name in ARTICLE_FIELDS:
                values[f"articles-{article.key}-{name}"] = getattr(article, name)
        return values

    def new_row_key(self) -> str:
        """The next free numeric key, for a row added without JavaScript."""
        used = {a.key for a in self.articles}
        index = len(self.articles)
        while str(index) in used:
            index += 1
        return str(index)

    def add_row(self) -> None:
        kind = "disk" if any(a.kind == "nas" for a in self.articles) else "nas"
        self.articles.append(ArticleDraft(self.new_row_key(), kind=kind))

    def remove_row(self, key: str) -> None:
        self.articles = [a for a in self.articles if a.key != key]


def new_contract_draft() -> ContractDraft:
    """An empty form: one NAS article row to fill in."""
    return ContractDraft(articles=[ArticleDraft("0", kind="nas")])


def read_contract_form(values: Mapping[str, str]) -> ContractDraft:
    """The submitted form as a draft; article rows keep the order in which the form sent them."""
    rows: dict[str, dict[str, str]] = {}
    for name, value in values.items():
        if match := _ARTICLE_FIELD.match(name):
            rows.setdefault(match.group(1), {})[match.group(2)] = value or ""
    articles = []
    for key, row in list(rows.items())[:MAX_ARTICLES + 1]:  # one more than allowed: enough to refuse
        raw_id = row.get("id", "").strip()
        articles.append(ArticleDraft(
            key=key,
            id=int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None,
            **{name: row.get(name, "") for name in ARTICLE_FIELDS},
        ))
    return ContractDraft(
        number=values.get("number", "") or "", product_reference=values.get("product_reference", "") or "",
        starts_on=values.get("starts_on", "") or "", ends_on=values.get("ends_on", "") or "",
        articles=articles,
    )


async def contract_draft(reseller_id: int, number: str) -> ContractDraft:
    """The edit form of one of the reseller's contracts, filled with what is saved."""
    contract = await reseller_contract(reseller_id, number)
    articles = await contract_articles(contract["id"])
    return ContractDraft(
        number=contract["number"], product_reference=contract["product_reference"],
        starts_on=contract["starts_on"].isoformat(), ends_on=contract["ends_on"].isoformat(),
        articles=[
            ArticleDraft(str(index), a.id, a.kind, a.designation, a.product_reference, a.serial_number,
                         a.specs_url, a.specs_text)
            for index, a in enumerate(articles)
        ],
    )


async def cited_articles(reseller_id: int, number: str) -> set[int]:
    """Ids of the contract's articles that an incident cites: the form does not offer to remove them."""
    contract = await reseller_contract(reseller_id, number)
    return await cited_article_ids(contract["id"])


@dataclass(frozen=True)
class CleanArticle:
    id: int | None
    kind: str
    designation: str
    product_reference: str
    serial_number: str
    specs_url: str
    specs_text: str


@dataclass(frozen=True)
class CleanContract:
    number: str
    product_reference: str
    starts_on: date
    ends_on: date
    articles: list[CleanArticle]


def _parse_date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


async def _check(draft: ContractDraft, reseller_id: int, contract: dict | None) -> CleanContract:
    """Every rule of the contract form, one message per faulty field; raises ValidationFailed."""
    v = Validator(draft.values())
    number = v.text("number", max_length=32)
    if number and not _NUMBER.match(number):
        v.fail("number", NUMBER_FORMAT)
    elif number.lower() in RESERVED_NUMBERS:
        v.fail("number", NUMBER_RESERVED)
    product_reference = v.text("product_reference", max_length=64)
    dates = {}
    for name in ("starts_on", "ends_on"):
        raw = v.text(name, max_length=10)
        dates[name] = _parse_date(raw) if raw else None
        if raw and dates[name] is None:
            v.fail(name, DATE_INVALID)
    if dates["starts_on"] and dates["ends_on"] and dates["ends_on"] <= dates["starts_on"]:
        v.fail("ends_on", ENDS_BEFORE_START)

    current: dict[int, dict] = {}
    cited: set[int] = set()
    if contract is not None:
        current = {row["id"]: row for row in await Article.select(
            Article.id, Article.kind, Article.serial_number).where(Article.contract == contract["id"])}
        cited = await cited_article_ids(contract["id"])

    if len(draft.articles) > MAX_ARTICLES:
        raise ValidationFailed({**v.errors, "articles": TOO_MANY_ARTICLES})
    articles: list[CleanArticle] = []
    seen: set[tuple[str, str]] = set()
    nas_keys: list[str] = []
    for row in draft.articles:
        name = f"articles-{row.key}-"
        kind = v.raw(name + "kind").lower()
        if kind not in KINDS:
            v.fail(name + "kind", KIND_INVALID)
        elif kind == "nas":
            nas_keys.append(row.key)
            if len(nas_keys) > 1:
                v.fail(name + "kind", SECOND_NAS)
        designation = v.text(name + "designation", max_length=300)
        reference = v.text(name + "reference", max_length=64)
        serial = normalise_serial(v.raw(name + "serial"))
        if not serial:
            v.fail(name + "serial", REQUIRED)
        elif len(serial) > 64:
            v.fail(name + "serial", "64 caractères au maximum.")
        elif (kind, serial) in seen:
            v.fail(name + "serial", DUPLICATE_ARTICLE)
        seen.add((kind, serial))
        specs_url = v.text(name + "specs_url", required=False, max_length=500)
        if specs_url and not _URL.match(specs_url):
            v.fail(name + "specs_url", URL_INVALID)
        specs_text = v.text(name + "specs_text", required=False, max_length=5000)
        # An id names a saved article of this very contract, once; anything else is a new article.
        article_id = row.id if row.id in current and row.id not in {a.id for a in articles} else None
        if article_id in cited:
            saved = current[article_id]
            if kind in KINDS and kind != saved["kind"]:
                v.fail(name + "kind", CITED_CHANGED.format(what="type"))
            if serial and serial != saved["serial_number"]:
                v.fail(name + "serial", CITED_CHANGED.format(what="n° de série"))
        articles.append(CleanArticle(article_id, kind, designation, reference, serial, specs_url, specs_text))

    if not draft.articles:
        v.fail("articles", NO_ARTICLE)
    elif not nas_keys and not any(f"articles-{a.key}-kind" in v.errors for a in draft.articles):
        v.fail("articles", NO_NAS)
    kept = {a.id for a in articles}
    for article_id in sorted(cited - kept):
        v.fail("articles", CITED_REMOVED.format(serial=current[article_id]["serial_number"]))

    contract_id = contract["id"] if contract else None
    if number and "number" not in v.errors:
        other = await Contract.select(Contract.id, Contract.reseller).where(Contract.number == number).first()
        if other and other["id"] != contract_id:
            v.fail("number", NUMBER_TAKEN_HERE.format(number=number) if other["reseller"] == reseller_id
                   else NUMBER_TAKEN)
    if len(nas_keys) == 1:
        key = nas_keys[0]
        serial = next(a.serial_number for a, row in zip(articles, draft.articles) if row.key == key)
        if serial and f"articles-{key}-serial" not in v.errors:
            holder = await _nas_holder(serial)
            if holder and holder["id"] != contract_id:
                v.fail(f"articles-{key}-serial", _serial_taken(holder, reseller_id))
    v.check()
    starts_on, ends_on = dates["starts_on"], dates["ends_on"]
    assert starts_on is not None and ends_on is not None  # v.check() refused any missing date
    return CleanContract(number, product_reference, starts_on, ends_on, articles)


async def _nas_holder(serial: str) -> dict | None:
    rows = await Contract.raw(
        """SELECT c.id, c.number, c.reseller FROM article a JOIN contract c ON c.id = a.contract
           WHERE a.kind = 'nas' AND a.serial_number = {}""",
        serial,
    )
    return rows[0] if rows else None


def _serial_taken(holder: dict, reseller_id: int) -> str:
    # Another reseller's contract numbers are theirs: say only that the serial is taken.
    if holder["reseller"] == reseller_id:
        return SERIAL_TAKEN_HERE.format(number=holder["number"])
    return SERIAL_TAKEN


async def _lock_contracts() -> None:
    """The CSV import's lock: one contract write at a time between checking and saving."""
    await Contract.raw("SELECT pg_advisory_xact_lock(hashtext('contract-import'))")


def _refusal_for(error: asyncpg.UniqueViolationError, draft: ContractDraft) -> ValidationFailed:
    """A uniqueness the check could not see (a write that raced past the lock)."""
    if "number" in (error.constraint_name or ""):
        return ValidationFailed({"number": NUMBER_TAKEN})
    key = next((a.key for a in draft.articles if a.kind.strip().lower() == "nas"), None)
    return ValidationFailed({f"articles-{key}-serial" if key else "articles": SERIAL_TAKEN})


async def _write_articles(contract_id: int, articles: list[CleanArticle], current_ids: set[int]) -> None:
    kept = {a.id for a in articles if a.id is not None}
    if gone := current_ids - kept:
        await Article.delete().where(Article.id.is_in(sorted(gone)))
    # Updates that take the NAS role away go first: one NAS per contract holds at every statement.
    ordered = sorted(enumerate(articles), key=lambda pair: (pair[1].id is None, pair[1].kind == "nas"))
    for position, article in ordered:
        values = {
            Article.kind: article.kind, Article.designation: article.designation,
            Article.product_reference: article.product_reference, Article.serial_number: article.serial_number,
            Article.specs_url: article.specs_url, Article.specs_text: article.specs_text,
            Article.position: position,
        }
        if article.id is not None:
            await Article.update(values).where(Article.id == article.id)
        else:
            await Article.insert(Article(contract=contract_id, **{c._meta.name: v for c, v in values.items()}))


async def create_contract(reseller_id: int, user_id: int, draft: ContractDraft, *, ip: str = "") -> str:
    """Nouveau contrat: the contract and its articles, unclaimed until a customer activates it."""
    try:
        async with Contract._meta.db.transaction():
            await _lock_contracts()
            clean = await _check(draft, reseller_id, None)
            now = datetime.now(timezone.utc)
            rows = await Contract.insert(Contract(
                number=clean.number, product_reference=clean.product_reference, reseller=reseller_id,
                starts_on=clean.starts_on, ends_on=clean.ends_on, created_at=now, updated_at=now,
            )).returning(Contract.id)
            await _write_articles(rows[0]["id"], clean.articles, set())
            await audit.record("contract_created", actor_id=user_id, object_type="contract",
                               object_id=clean.number, ip=ip)
    except asyncpg.UniqueViolationError as error:
        raise _refusal_for(error, draft) from error
    return clean.number


async def update_contract(reseller_id: int, user_id: int, number: str, draft: ContractDraft, *,
                          ip: str = "") -> str:
    """Save the edit form of one of the reseller's contracts; returns its (possibly new) number."""
    try:
        async with Contract._meta.db.transaction():
            await _lock_contracts()
            contract = await reseller_contract(reseller_id, number, lock=True)
            clean = await _check(draft, reseller_id, contract)
            current_ids = {row["id"] for row in await Article.select(Article.id).where(
                Article.contract == contract["id"])}
            await Contract.update({
                Contract.number: clean.number, Contract.product_reference: clean.product_reference,
                Contract.starts_on: clean.starts_on, Contract.ends_on: clean.ends_on,
                Contract.updated_at: datetime.now(timezone.utc),
            }).where(Contract.id == contract["id"])
            await _write_articles(contract["id"], clean.articles, current_ids)
            await audit.record("contract_updated", actor_id=user_id, object_type="contract",
                               object_id=clean.number, ip=ip,
                               **({"previous_number": number} if number != clean.number else {}))
    except asyncpg.UniqueViolationError as error:
        raise _refusal_for(error, draft) from error
    return clean.number
