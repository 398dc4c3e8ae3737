"""The database itself keeps the data true, whatever code writes to it (SPEC §2).

Raw inserts on purpose: these tests are about the constraints, not the services.
"""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from app.db.tables import (
    Article,
    Company,
    Contract,
    ExtensionOffer,
    Incident,
    QuoteRequest,
    Reseller,
    User,
)


async def sql(statement: str, *args):
    return await Reseller.raw(statement, *args)


async def reseller(code: str = "R1") -> int:
    return (await sql("INSERT INTO reseller (code, name, email) VALUES ({}, 'Revendeur', 'r@example.com') "
                      "RETURNING id", code))[0]["id"]


async def company(name: str = "Société") -> int:
    return (await sql(
        """INSERT INTO company (name, street, city, postal_code, country, email, phone)
           VALUES ({}, '1 rue', 'Lyon', '69001', 'France', 'c@example.com', '0123456789') RETURNING id""",
        name))[0]["id"]


async def user(username: str, *, company_id: int | None = None, reseller_id: int | None = None,
               role: str = "admin") -> int:
    return (await sql(
        """INSERT INTO app_user (company, reseller, role, first_name, last_name, email, username)
           VALUES ({}, {}, {}, 'Prénom', 'Nom', 'u@example.com', {}) RETURNING id""",
        company_id, reseller_id, role, username))[0]["id"]


async def contract(number: str, reseller_id: int, *, starts: date = date(2024, 1, 1),
                   ends: date = date(2026, 1, 1)) -> int:
    return (await sql(
        """INSERT INTO contract (number, product_reference, reseller, starts_on, ends_on)
           VALUES ({}, 'TS-131K', {}, {}, {}) RETURNING id""",
        number, reseller_id, starts, ends))[0]["id"]


async def article(contract_id: int, serial: str, kind: str = "nas") -> int:
    return (await sql(
        """INSERT INTO article (contract, designation, product_reference, serial_number, kind)
           VALUES ({}, 'Article', 'REF', {}, {}) RETURNING id""",
        contract_id, serial, kind))[0]["id"]


async def incident(contract_id: int, company_id: int, *, status: str = "draft", number: str | None = None,
                   nature: str | None = None) -> int:
    return (await sql(
        """INSERT INTO incident (contract, company, status, number, nature)
           VALUES ({}, {}, {}, {}, {}) RETURNING id""",
        contract_id, company_id, status, number, nature))[0]["id"]


# --- users ---------------------------------------------------------------------------------------


async def test_usernames_are_unique_without_case():
    company_id = await company()
    await user("Alice", company_id=company_id)
    with pytest.raises(asyncpg.UniqueViolationError) as clash:
        await user("aLICE", company_id=company_id)
    assert clash.value.constraint_name == "app_user_username_ci"
    reseller_id = await reseller()
    with pytest.raises(asyncpg.UniqueViolationError):  # across tenants too
        await user("alice", reseller_id=reseller_id)
    assert await User.count() == 1


async def test_a_user_belongs_to_a_company_or_a_reseller_not_both():
    company_id, reseller_id = await company(), await reseller()
    with pytest.raises(asyncpg.CheckViolationError) as both:
        await user("both", company_id=company_id, reseller_id=reseller_id)
    assert both.value.constraint_name in ("app_user_one_tenant", "app_user_role_valid")
    with pytest.raises(asyncpg.CheckViolationError) as neither:
        await user("neither")
    assert neither.value.constraint_name in ("app_user_one_tenant", "app_user_role_valid")
    assert await User.count() == 0


ROLES = (
    ("company", "admin", True),
    ("company", "basic", True),
    ("company", "agent", False),
    ("company", "superuser", False),
    ("reseller", "admin", True),
    ("reseller", "agent", True),
    ("reseller", "basic", False),
    ("reseller", "", False),
)


async def test_role_values_are_checked_for_each_kind_of_user():
    tenants = {"company": {"company_id": await company()}, "reseller": {"reseller_id": await reseller()}}
    for index, (tenant, role, allowed) in enumerate(ROLES):
        username = f"someone{index}"
        if allowed:
            await user(username, role=role, **tenants[tenant])
        else:
            with pytest.raises(asyncpg.CheckViolationError) as refused:
                await user(username, role=role, **tenants[tenant])
            assert refused.value.constraint_name == "app_user_role_valid", (tenant, role)
    assert await User.count() == sum(allowed for _, _, allowed in ROLES)


async def test_a_user_of_a_company_cannot_be_left_without_a_username_or_name():
    company_id = await company()
    with pytest.raises(asyncpg.NotNullViolationError):
        await sql("""INSERT INTO app_user (company, role, first_name, last_name, email, username)
                     VALUES ({}, 'admin', 'P', 'N', 'e@example.com', NULL)""", company_id)


# --- contracts and articles ----------------------------------------------------------------------


async def test_contract_numbers_are_unique():
    r1, r2 = await reseller("R1"), await reseller("R2")
    await contract("29962", r1)
    with pytest.raises(asyncpg.UniqueViolationError):
        await contract("29962", r2)
    assert await Contract.count() == 1


async def test_contract_end_before_start_is_refused():
    reseller_id = await reseller()
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        await contract("1", reseller_id, starts=date(2025, 1, 2), ends=date(2025, 1, 1))
    assert refused.value.constraint_name == "contract_dates"
    await contract("2", reseller_id, starts=date(2025, 1, 1), ends=date(2025, 1, 1))  # same day is fine


async def test_a_contract_needs_an_existing_reseller():
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await contract("1", 999_999)


async def test_a_contract_needs_a_reseller():
    with pytest.raises(asyncpg.NotNullViolationError):
        await sql("""INSERT INTO contract (number, product_reference, reseller, starts_on, ends_on)
                     VALUES ('1', 'P', NULL, '2024-01-01', '2025-01-01')""")


REQUIRED_LINKS = (
    ("contract", "reseller"),
    ("article", "contract"),
    ("extension_offer", "reseller"),
    ("quote_request", "contract"),
    ("quote_request", "offer"),
    ("delivery_address", "company"),
    ("incident", "contract"),
    ("incident", "company"),
    ("incident_article", "incident"),
    ("incident_article", "article"),
    ("incident_status_change", "incident"),
    ("message", "incident"),
    ("attachment", "incident"),
    ("notification", "recipient"),
    ("user_session", "user"),
    ("user_token", "user"),
)


async def test_links_that_every_row_needs_are_not_null():
    """An article without a contract, a session without a user... must be impossible."""
    rows = await sql(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND is_nullable = 'YES'""",
    )
    nullable = {(row["table_name"], row["column_name"]) for row in rows}
    accepting_null = [f"{table}.{column}" for table, column in REQUIRED_LINKS if (table, column) in nullable]
    assert accepting_null == []


async def test_an_article_needs_a_contract():
    with pytest.raises(asyncpg.NotNullViolationError):
        await sql("""INSERT INTO article (contract, designation, product_reference, serial_number, kind)
                     VALUES (NULL, 'Orphelin', 'REF', 'ORPHAN1', 'nas')""")


async def test_a_reseller_with_contracts_cannot_be_deleted():
    reseller_id = await reseller()
    await contract("1", reseller_id)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await sql("DELETE FROM reseller WHERE id = {}", reseller_id)


async def test_a_contract_has_at_most_one_nas_article():
    contract_id = await contract("1", await reseller())
    await article(contract_id, "NAS1")
    await article(contract_id, "DISK1", "disk")
    await article(contract_id, "DISK2", "disk")
    with pytest.raises(asyncpg.UniqueViolationError) as refused:
        await article(contract_id, "NAS2")
    assert refused.value.constraint_name == "article_one_nas_per_contract"
    assert await Article.count() == 3


async def test_a_nas_serial_belongs_to_at_most_one_contract():
    reseller_id = await reseller()
    first, second = await contract("1", reseller_id), await contract("2", reseller_id)
    await article(first, "Q207B17555")
    with pytest.raises(asyncpg.UniqueViolationError) as refused:
        await article(second, "Q207B17555")
    assert refused.value.constraint_name == "article_nas_serial_unique"


async def test_article_kind_is_checked():
    contract_id = await contract("1", await reseller())
    with pytest.raises(asyncpg.CheckViolationError):
        await article(contract_id, "X1", "ssd")


async def test_articles_go_with_their_contract():
    contract_id = await contract("1", await reseller())
    await article(contract_id, "NAS1")
    await sql("DELETE FROM contract WHERE id = {}", contract_id)
    assert await Article.count() == 0


# --- incidents -----------------------------------------------------------------------------------


async def test_incident_status_is_checked():
    contract_id, company_id = await contract("1", await reseller()), await company()
    for status in ("new", "in_progress", "waiting_customer", "resolved", "closed"):
        await incident(contract_id, company_id, status=status, number=f"260101{status[:2]}")
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        await incident(contract_id, company_id, status="open", number="26010199")
    assert refused.value.constraint_name == "incident_status_valid"
    assert await Incident.count() == 5


async def test_incident_nature_is_checked():
    contract_id, company_id = await contract("1", await reseller()), await company()
    for nature in (None, "defective", "damaged", "incomplete", "other"):
        await incident(contract_id, company_id, nature=nature)
    with pytest.raises(asyncpg.CheckViolationError) as refused:
        await incident(contract_id, company_id, nature="broken")
    assert refused.value.constraint_name == "incident_nature_valid"


async def test_a_submitted_incident_has_a_number_and_a_draft_has_none():
    contract_id, company_id = await contract("1", await reseller()), await company()
    with pytest.raises(asyncpg.CheckViolationError):
        await incident(contract_id, company_id, status="new", number=None)
    with pytest.raises(asyncpg.CheckViolationError):
        await incident(contract_id, company_id, status="draft", number="20122301")


async def test_incident_numbers_are_unique():
    contract_id, company_id = await contract("1", await reseller()), await company()
    await incident(contract_id, company_id, status="new", number="20122301")
    with pytest.raises(asyncpg.UniqueViolationError):
        await incident(contract_id, company_id, status="new", number="20122301")


async def test_message_visibility_is_checked():
    contract_id, company_id = await contract("1", await reseller()), await company()
    incident_id = await incident(contract_id, company_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await sql("INSERT INTO message (incident, body, visibility) VALUES ({}, 'x', 'secret')",
                  incident_id)


# --- quote requests ------------------------------------------------------------------------------


async def test_one_open_quote_request_per_contract_and_offer():
    reseller_id = await reseller()
    contract_id = await contract("1", reseller_id)
    offer_id = (await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code="EXT", label="Extension", duration_months=24,
    )).returning(ExtensionOffer.id))[0]["id"]
    other_offer = (await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code="EXT2", label="Extension 2", duration_months=12,
    )).returning(ExtensionOffer.id))[0]["id"]

    async def quote(offer: int, status: str = "requested") -> int:
        return (await sql("INSERT INTO quote_request (contract, \"offer\", status) VALUES ({}, {}, {}) "
                          "RETURNING id", contract_id, offer, status))[0]["id"]

    first = await quote(offer_id)
    with pytest.raises(asyncpg.UniqueViolationError) as refused:
        await quote(offer_id)
    assert refused.value.constraint_name == "quote_request_one_open"
    with pytest.raises(asyncpg.UniqueViolationError):
        await quote(offer_id, "answered")  # answered is still open
    await quote(other_offer)  # another offer is another request
    await sql("UPDATE quote_request SET status = 'closed' WHERE id = {}", first)
    await quote(offer_id)  # once closed, a new request may be made
    assert await QuoteRequest.count() == 3
    with pytest.raises(asyncpg.CheckViolationError):
        await quote(other_offer, "pending")


async def test_extension_offer_codes_are_unique_per_reseller():
    r1, r2 = await reseller("R1"), await reseller("R2")
    await ExtensionOffer.insert(ExtensionOffer(reseller=r1, code="EXT", label="A", duration_months=12))
    await ExtensionOffer.insert(ExtensionOffer(reseller=r2, code="EXT", label="B", duration_months=12))
    with pytest.raises(asyncpg.UniqueViolationError):
        await ExtensionOffer.insert(ExtensionOffer(reseller=r1, code="EXT", label="C", duration_months=12))


# --- addresses, tokens ---------------------------------------------------------------------------


async def test_a_company_has_one_default_address_at_a_time():
    company_id = await company()

    async def address(default: bool, archived: bool = False) -> None:
        await sql("""INSERT INTO delivery_address (company, label, street, city, postal_code, country,
                                                   email, phone, is_default, archived_at)
                     VALUES ({}, 'A', '1 rue', 'Lyon', '69001', 'France', 'a@example.com', '01',
                             {}, {})""",
                  company_id, default, None if not archived else date(2024, 1, 1))

    await address(True)
    await address(False)
    await address(True, archived=True)
    with pytest.raises(asyncpg.UniqueViolationError):
        await address(True)


async def test_token_kind_is_checked_and_hashes_are_unique():
    company_id = await company()
    user_id = await user("someone", company_id=company_id)
    await sql("""INSERT INTO user_token (\"user\", kind, token_hash, expires_at)
                 VALUES ({}, 'reset', 'h1', now())""", user_id)
    with pytest.raises(asyncpg.UniqueViolationError):
        await sql("""INSERT INTO user_token (\"user\", kind, token_hash, expires_at)
                     VALUES ({}, 'invitation', 'h1', now())""", user_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await sql("""INSERT INTO user_token (\"user\", kind, token_hash, expires_at)
                     VALUES ({}, 'magic', 'h2', now())""", user_id)


async def test_company_required_fields_are_not_null():
    with pytest.raises(asyncpg.NotNullViolationError):
        await sql("""INSERT INTO company (name, street, city, postal_code, country, email, phone)
                     VALUES (NULL, '1 rue', 'Lyon', '69001', 'France', 'c@example.com', '01')""")
    assert await Company.count() == 0


async def test_an_incident_carries_its_contracts_reseller_and_nothing_else():
    first, second = await reseller("R1"), await reseller("R2")
    contract_id, company_id = await contract("1", first), await company()
    incident_id = await incident(contract_id, company_id)  # the insert says nothing of the reseller
    assert (await Incident.select(Incident.reseller).where(Incident.id == incident_id).first())["reseller"] == first
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await sql("UPDATE incident SET reseller = {} WHERE id = {}", second, incident_id)
    await sql("UPDATE contract SET reseller = {} WHERE id = {}", second, contract_id)  # handed over
    assert (await Incident.select(Incident.reseller).where(Incident.id == incident_id).first())["reseller"] == second


async def test_a_contracts_search_text_follows_its_number_reference_and_articles():
    async def text(contract_id: int) -> str:
        return (await sql("SELECT search_text FROM contract WHERE id = {}", contract_id))[0]["search_text"]

    r = await reseller()
    first, second = await contract("c-1", r), await contract("c-2", r)
    assert await text(first) == "C-1 TS-131K"
    nas = await article(first, "nas0001")
    disk = await article(first, "wd-77", kind="disk")
    assert await text(first) == "C-1 TS-131K NAS0001 WD-77"
    await sql("UPDATE article SET serial_number = 'WD-78' WHERE id = {}", disk)
    await sql("UPDATE contract SET number = 'C-1B', product_reference = 'TS-231' WHERE id = {}", first)
    assert await text(first) == "C-1B TS-231 NAS0001 WD-78"
    await sql("UPDATE article SET contract = {} WHERE id = {}", second, disk)  # moved to the other one
    assert (await text(first), await text(second)) == ("C-1B TS-231 NAS0001", "C-2 TS-131K WD-78")
    await sql("DELETE FROM article WHERE id = {}", nas)
    assert await text(first) == "C-1B TS-231"
    await sql("DELETE FROM contract WHERE id = {}", second)  # its articles go with it, quietly
    assert await Article.count() == 0
