"""Test data built through the services, as the product itself builds it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.accounts.services import create_user
from app.contracts.csv_import import import_contracts
from app.contracts.services import claim_contract
from app.db.tables import Company, DeliveryAddress, Reseller
from tests.support import DEFAULT_PASSWORD

HEADER = ("contract_number,product_reference,starts_on,ends_on,article_kind,article_designation,"
          "article_reference,article_serial,specs_url\n")


@dataclass
class Customer:
    company_id: int
    admin_id: int
    admin_username: str
    basic_id: int
    basic_username: str


async def make_reseller(code: str = "R1", *, agent: str | None = None) -> int:
    rows = await Reseller.insert(
        Reseller(code=code, name=f"Revendeur {code}", email=f"{code.lower()}@example.com")
    ).returning(Reseller.id)
    reseller_id = rows[0]["id"]
    if agent:
        await create_user(username=agent, first_name="Agent", last_name=code, email=f"{agent}@example.com",
                          role="agent", reseller_id=reseller_id, password=DEFAULT_PASSWORD)
    return reseller_id


async def make_contract(reseller_id: int, number: str, nas_serial: str, *,
                        product: str = "TS-131K-1TIW", ends_on: date | None = None,
                        disks: tuple[str, ...] = ()) -> None:
    """An unclaimed contract with its NAS article (and disks), imported as a reseller would."""
    ends_on = ends_on or date.today() + timedelta(days=700)
    starts_on = min(ends_on - timedelta(days=365), date.today() - timedelta(days=30))
    lines = [f"{number},{product},{starts_on},{ends_on},nas,NAS {product},{product[:7]},{nas_serial},"]
    lines += [f"{number},{product},{starts_on},{ends_on},disk,Disque 1 To,ST1000VN002,{serial},"
              for serial in disks]
    await import_contracts(HEADER + "\n".join(lines) + "\n", reseller_id)


async def make_customer(prefix: str, *, serial: str | None = None) -> Customer:
    """A company with an administrator `<prefix>_admin` and a basic user `<prefix>_basic`."""
    rows = await Company.insert(Company(
        name=f"Société {prefix}", street="1 rue Test", city="Lyon", postal_code="69001",
        country="France", email=f"{prefix}@example.com", phone="0123456789",
    )).returning(Company.id)
    company_id = rows[0]["id"]
    admin_id = await create_user(username=f"{prefix}_admin", first_name="Admin", last_name=prefix,
                                 email=f"{prefix}_admin@example.com", role="admin",
                                 company_id=company_id, password=DEFAULT_PASSWORD)
    basic_id = await create_user(username=f"{prefix}_basic", first_name="Basic", last_name=prefix,
                                 email=f"{prefix}_basic@example.com", role="basic",
                                 company_id=company_id, password=DEFAULT_PASSWORD)
    await DeliveryAddress.insert(DeliveryAddress(
        company=company_id, label="Adresse principale", recipient_name=f"Société {prefix}",
        street="1 rue Test", city="Lyon", postal_code="69001", country="France",
        email=f"{prefix}@example.com", phone="0123456789", is_default=True,
    ))
    if serial:
        async with Company._meta.db.transaction():
            await claim_contract(company_id, admin_id, serial)
    return Customer(company_id, admin_id, f"{prefix}_admin", basic_id, f"{prefix}_basic")
