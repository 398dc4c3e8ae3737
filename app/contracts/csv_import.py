"""Contract import from CSV: parse, check against the database, then commit all or nothing.

One row per article, rows grouped by contract number (the operator CLI and the reseller view
share this service). Columns: contract_number, product_reference, starts_on, ends_on,
article_kind (nas|disk|other), article_designation, article_reference, article_serial, specs_url.
Dates are YYYY-MM-DD or DD/MM/YYYY. Re-importing a contract number updates that contract.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from app.contracts.serials import normalise_serial
from app.db.tables import Article, Contract, IncidentArticle

COLUMNS = (
    "contract_number",
    "product_reference",
    "starts_on",
    "ends_on",
    "article_kind",
    "article_designation",
    "article_reference",
    "article_serial",
    "specs_url",
)
KINDS = ("nas", "disk", "other")
# The widths of the columns the values land in (app/db/tables.py).
MAX_LENGTHS = {
    "contract_number": 32,
    "product_reference": 64,
    "article_designation": 300,
    "article_reference": 64,
    "article_serial": 64,
    "specs_url": 500,
}
_URL = re.compile(r"^https?://[^\s<>\"]+$")
# A contract number is part of URLs: letters, digits and . _ - (the reseller form says the same),
# and not one of the words that name pages under /reseller/contracts/.
RESERVED_NUMBERS = frozenset({"new", "import", "article-row"})
_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")


@dataclass(frozen=True)
class LineError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"ligne {self.line}" + (f", colonne {self.column}" if self.column else "")
        return f"{where} : {self.reason}"


@dataclass
class ParsedArticle:
    line: int
    kind: str
    designation: str
    reference: str
    serial: str
    specs_url: str


@dataclass
class ParsedContract:
    line: int
    number: str
    product_reference: str
    starts_on: date | None
    ends_on: date | None
    articles: list[ParsedArticle] = field(default_factory=list)
    exists: bool = False  # set by the database check: an update rather than a creation

    @property
    def nas_serial(self) -> str:
        return next((a.serial for a in self.articles if a.kind == "nas"), "")


@dataclass
class ImportPreview:
    contracts: list[ParsedContract]
    errors: list[LineError]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.contracts)


class ImportRefused(Exception):
    def __init__(self, errors: list[LineError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


def _parse_date(value: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def parse_contracts_csv(text: str) -> ImportPreview:
    """Read the CSV text into contracts with their articles, and every error found, by line."""
    errors: list[LineError] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        return ImportPreview([], [LineError(1, ", ".join(missing), "colonne(s) manquante(s)")])
    reader.fieldnames = header
    contracts: dict[str, ParsedContract] = {}
    for offset, row in enumerate(reader):
        line = offset + 2
        cell = {name: (row.get(name) or "").strip() for name in COLUMNS}

        def fail(column: str, reason: str, line: int = line) -> None:
            errors.append(LineError(line, column, reason))

        for name in ("contract_number", "product_reference", "article_designation",
                     "article_reference", "article_serial"):
            if not cell[name]:
                fail(name, "valeur obligatoire")
        serial = normalise_serial(cell["article_serial"])
        for name, value in (*cell.items(), ("article_serial", serial)):
            if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
                fail(name, f"{MAX_LENGTHS[name]} caractères au maximum")
        starts_on, ends_on = _parse_date(cell["starts_on"]), _parse_date(cell["ends_on"])
        if starts_on is None:
            fail("starts_on", f"date invalide « {cell['starts_on']} » (AAAA-MM-JJ ou JJ/MM/AAAA)")
        if ends_on is None:
            fail("ends_on", f"date invalide « {cell['ends_on']} » (AAAA-MM-JJ ou JJ/MM/AAAA)")
        if cell["contract_number"] and not _NUMBER.fullmatch(cell["contract_number"]):
            fail("contract_number", "lettres, chiffres et . _ - seulement")
        elif cell["contract_number"].lower() in RESERVED_NUMBERS:
            fail("contract_number", "ce numéro est réservé (il désigne une page)")
        if starts_on and ends_on and ends_on <= starts_on:
            fail("ends_on", "la fin de garantie précède le début du contrat ou lui est égale")
        kind = cell["article_kind"].lower()
        if kind not in KINDS:
            fail("article_kind", f"« {cell['article_kind']} » : attendu nas, disk ou other")
        if cell["specs_url"] and not _URL.match(cell["specs_url"]):
            fail("specs_url", "adresse invalide (http:// ou https://)")
        number = cell["contract_number"]
        if not number:
            continue
        contract = contracts.get(number)
        if contract is None:
            contract = contracts[number] = ParsedContract(
                line, number, cell["product_reference"], starts_on, ends_on
            )
        elif (contract.product_reference, contract.starts_on, contract.ends_on) != (
            cell["product_reference"], starts_on, ends_on
        ):
            fail("contract_number", f"référence ou dates différentes de la ligne {contract.line}")
        contract.articles.append(
            ParsedArticle(line, kind, cell["article_designation"], cell["article_reference"], serial,
                          cell["specs_url"])
        )
    if not contracts and not errors:
        errors.append(LineError(2, "", "aucune ligne de contrat"))
    nas_owner: dict[str, str] = {}
    for contract in contracts.values():
        nas = [a for a in contract.articles if a.kind == "nas"]
        if len(nas) != 1:
            errors.append(LineError(contract.line, "article_kind",
                                    f"le contrat {contract.number} doit avoir exactement un article nas"))
        seen: set[tuple[str, str]] = set()
        for article in contract.articles:
            if (article.kind, article.serial) in seen:
                errors.append(LineError(article.line, "article_serial", "article en double"))
            seen.add((article.kind, article.serial))
        for article in nas:
            other = nas_owner.setdefault(article.serial, contract.number)
            if other != contract.number:
                errors.append(LineError(article.line, "article_serial",
                                        f"n° de série NAS déjà utilisé par le contrat {other}"))
    return ImportPreview(list(contracts.values()), sorted(errors, key=lambda e: e.line))


async def check_against_database(preview: ImportPreview, reseller_id: int) -> None:
    """Add the errors only the database can tell: numbers of other resellers, NAS serials in use."""
    if not preview.contracts:
        return
    numbers = [c.number for c in preview.contracts]
    existing = {
        row["number"]: row
        for row in await Contract.select(Contract.id, Contract.number, Contract.reseller).where(
            Contract.number.is_in(numbers)
        )
    }
    serials = [c.nas_serial for c in preview.contracts if c.nas_serial]
    holders = {
        row["serial_number"]: row
        for row in await Article.raw(
            """SELECT a.serial_number, c.number, c.reseller FROM article a JOIN contract c ON c.id = a.contract
               WHERE a.kind = 'nas' AND a.serial_number = ANY({})""",
            serials,
        )
    } if serials else {}
    for contract in preview.contracts:
        row = existing.get(contract.number)
        if row and row["reseller"] != reseller_id:
            preview.errors.append(LineError(contract.line, "contract_number",
                                            "ce numéro de contrat appartient à un autre revendeur"))
        contract.exists = row is not None
        holder = holders.get(contract.nas_serial)
        if holder and holder["number"] != contract.number:
            nas_line = next(a.line for a in contract.articles if a.kind == "nas")
            # Another reseller's contract numbers are theirs: say only that the serial is taken.
            where = f" au contrat {holder['number']}" if holder["reseller"] == reseller_id else " à un autre contrat"
            preview.errors.append(LineError(nas_line, "article_serial", f"n° de série NAS déjà rattaché{where}"))
        if row and row["reseller"] == reseller_id:
            await _check_removed_articles(contract, row["id"], preview.errors)
    preview.errors.sort(key=lambda e: e.line)


async def _check_removed_articles(contract: ParsedContract, contract_id: int,
                                  errors: list[LineError]) -> None:
    """An article cited by an incident cannot disappear from its contract."""
    kept = {(a.kind, a.serial) for a in contract.articles}
    cited = await IncidentArticle.raw(
        """SELECT DISTINCT a.kind, a.serial_number FROM incident_article ia
           JOIN article a ON a.id = ia.article WHERE a.contract = {}""",
        contract_id,
    )
    for row in cited:
        if (row["kind"], row["serial_number"]) not in kept:
            errors.append(LineError(contract.line, "article_serial",
                                    f"l'article {row['serial_number']} est cité par un incident "
                                    "et doit rester dans le contrat"))


async def preview_import(text: str, reseller_id: int) -> ImportPreview:
    """What an import would do, with every error; writes nothing."""
    preview = parse_contracts_csv(text)
    await check_against_database(preview, reseller_id)
    return preview


async def import_contracts(text: str, reseller_id: int) -> list[ParsedContract]:
    """Import every contract of the CSV in one transaction, or none: raises ImportRefused."""
    async with Contract._meta.db.transaction():
        # One import at a time: two imports checking before either writes could otherwise both
        # pass and then collide on a NAS serial or a contract number.
        await Contract.raw("SELECT pg_advisory_xact_lock(hashtext('contract-import'))")
        preview = await preview_import(text, reseller_id)
        if not preview.ok:
            raise ImportRefused(preview.errors)
        for contract in preview.contracts:
            await _save_contract(contract, reseller_id)
    return preview.contracts


async def _save_contract(parsed: ParsedContract, reseller_id: int) -> None:
    now = datetime.now(timezone.utc)
    rows = await Contract.raw(
        """INSERT INTO contract (number, product_reference, reseller, starts_on, ends_on,
                                 created_at, updated_at)
           VALUES ({}, {}, {}, {}, {}, {}, {})
           ON CONFLICT (number) DO UPDATE SET product_reference = EXCLUDED.product_reference,
               starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, updated_at = EXCLUDED.updated_at
           WHERE contract.reseller = EXCLUDED.reseller
           RETURNING id""",
        parsed.number, parsed.product_reference, reseller_id, parsed.starts_on, parsed.ends_on, now, now,
    )
    if not rows:  # the number belongs to another reseller: never overwrite it
        raise ImportRefused([LineError(parsed.line, "contract_number",
                                       "ce numéro de contrat appartient à un autre revendeur")])
    contract_id = rows[0]["id"]
    current = {
        (row["kind"], row["serial_number"]): row["id"]
        for row in await Article.select(Article.id, Article.kind, Article.serial_number).where(
            Article.contract == contract_id
        )
    }
    wanted = {(a.kind, a.serial) for a in parsed.articles}
    gone = [article_id for key, article_id in current.items() if key not in wanted]
    if gone:
        await Article.delete().where(Article.id.is_in(gone))
    for position, article in enumerate(parsed.articles):
        values = {
            Article.designation: article.designation,
            Article.product_reference: article.reference,
            Article.specs_url: article.specs_url,
            Article.position: position,
        }
        if article_id := current.get((article.kind, article.serial)):
            await Article.update(values).where(Article.id == article_id)
        else:
            await Article.insert(Article(contract=contract_id, kind=article.kind,
                                         serial_number=article.serial,
                                         **{col._meta.name: v for col, v in values.items()}))
