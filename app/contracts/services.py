"""Contracts as a customer company sees them, and their activation by NAS serial number.

Tenancy is enforced here: every read takes the company it is made for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from app.contracts.serials import normalise_serial
from app.db.tables import Contract
from app.errors import ValidationFailed

UNKNOWN_SERIAL = "Aucun contrat ne correspond à ce numéro de série."
SERIAL_ELSEWHERE = (
    "Ce numéro de série est déjà associé à un autre compte — contactez votre revendeur."
)
SERIAL_ALREADY_HERE = "Ce contrat est déjà dans votre espace."


@dataclass(frozen=True)
class ContractRow:
    id: int
    number: str
    product_reference: str
    nas_serial: str
    starts_on: date
    ends_on: date

    def is_protected(self, today: date) -> bool:
        return self.ends_on >= today


async def claim_contract(company_id: int, user_id: int, serial: str, *, field: str = "serial") -> int:
    """Attach the contract whose NAS serial is `serial` to the company; returns its id.

    Call inside a transaction: the contract row is locked so two companies cannot both claim it.
    """
    normalised = normalise_serial(serial)
    if not normalised:
        raise ValidationFailed({field: "Ce champ est obligatoire."})
    rows = await Contract.raw(
        """SELECT c.id, c.company FROM contract c
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
    await Contract.update(
        {
            Contract.company: company_id,
            Contract.activated_at: datetime.now(timezone.utc),
            Contract.activated_by: user_id,
            Contract.updated_at: datetime.now(timezone.utc),
        }
    ).where(Contract.id == contract["id"])
    return contract["id"]


async def list_company_contracts(company_id: int) -> list[ContractRow]:
    """Every contract of the company, newest protection first."""
    rows = await Contract.raw(
        """SELECT c.id, c.number, c.product_reference, c.starts_on, c.ends_on,
                  coalesce(a.serial_number, '') AS nas_serial
           FROM contract c
           LEFT JOIN article a ON a.contract = c.id AND a.kind = 'nas'
           WHERE c.company = {}
           ORDER BY c.ends_on DESC, c.number""",
        company_id,
    )
    return [ContractRow(**row) for row in rows]
