"""Contract import from CSV (the operator CLI and the reseller view share it): all or nothing.

One row per article, rows grouped by contract number; a refused file imports nothing and names
the line, the column and the reason of every bad line.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.contracts.csv_import import ImportRefused, LineError, import_contracts, preview_import
from app.db.tables import Article, Contract
from tests.factories import HEADER, make_reseller

GOOD = (
    "29962,TS-131K-1TIW,2024-01-15,2027-01-15,nas,NAS QNAP TS-131K,TS-131K, q207 b17555 ,"
    "https://www.qnap.com/specs\n"
    "29962,TS-131K-1TIW,2024-01-15,2027-01-15,disk,Disque 1 To,ST1000VN002,z9cbpm5m,\n"
    "30102,DS224PLUS-2G,15/06/2025,15/06/2028,NAS,Synology DS224+,DS224+,2190qwr 123456,\n"
    "30102,DS224PLUS-2G,15/06/2025,15/06/2028,other,Bloc secteur,PSU-65W,psu-001,\n"
    "30102,DS224PLUS-2G,15/06/2025,15/06/2028,disk,Disque 4 To,WD40EFPX,wd-4t-001,\n"
)


def csv_of(*rows: str, header: str = HEADER) -> str:
    return header + "".join(row if row.endswith("\n") else row + "\n" for row in rows)


async def articles_of(number: str) -> list[tuple[str, str, str, str, int]]:
    contract = await Contract.objects().where(Contract.number == number).first()
    rows = await Article.select(Article.kind, Article.serial_number, Article.product_reference,
                                Article.designation, Article.position).where(
        Article.contract == contract.id).order_by(Article.position)
    return [(r["kind"], r["serial_number"], r["product_reference"], r["designation"], r["position"])
            for r in rows]


async def refusal(text: str, reseller_id: int) -> list[LineError]:
    """Import `text`, expect a refusal, and check that nothing changed in the database."""
    contracts_before = await Contract.select().order_by(Contract.id)
    articles_before = await Article.select().order_by(Article.id)
    with pytest.raises(ImportRefused) as refused:
        await import_contracts(text, reseller_id)
    assert await Contract.select().order_by(Contract.id) == contracts_before
    assert await Article.select().order_by(Article.id) == articles_before
    return refused.value.errors


def has_error(errors: list[LineError], line: int, column: str, reason: str) -> bool:
    return any(e.line == line and e.column == column and reason in e.reason for e in errors)


# --- success -------------------------------------------------------------------------------------


async def test_valid_file_creates_contracts_and_articles_with_normalised_serials():
    reseller_id = await make_reseller("R1")
    imported = await import_contracts(csv_of(GOOD), reseller_id)
    assert [c.number for c in imported] == ["29962", "30102"]

    first = await Contract.objects().where(Contract.number == "29962").first()
    assert (first.product_reference, first.starts_on, first.ends_on) == (
        "TS-131K-1TIW", date(2024, 1, 15), date(2027, 1, 15))
    assert first.reseller == reseller_id
    assert first.company is None and first.activated_at is None
    second = await Contract.objects().where(Contract.number == "30102").first()
    assert (second.product_reference, second.starts_on, second.ends_on) == (
        "DS224PLUS-2G", date(2025, 6, 15), date(2028, 6, 15))  # DD/MM/YYYY read day first

    assert await articles_of("29962") == [
        ("nas", "Q207B17555", "TS-131K", "NAS QNAP TS-131K", 0),
        ("disk", "Z9CBPM5M", "ST1000VN002", "Disque 1 To", 1),
    ]
    assert await articles_of("30102") == [
        ("nas", "2190QWR123456", "DS224+", "Synology DS224+", 0),
        ("other", "PSU-001", "PSU-65W", "Bloc secteur", 1),
        ("disk", "WD-4T-001", "WD40EFPX", "Disque 4 To", 2),
    ]
    nas = await Article.objects().where(Article.serial_number == "Q207B17555").first()
    assert nas.specs_url == "https://www.qnap.com/specs"
    assert await Contract.count() == 2
    assert await Article.count() == 5


async def test_file_saved_by_a_spreadsheet_with_a_bom_and_crlf_imports():
    reseller_id = await make_reseller("R1")
    text = "\ufeff" + csv_of(GOOD).replace("\n", "\r\n")
    await import_contracts(text, reseller_id)
    assert await Contract.count() == 2


async def test_rows_of_a_contract_need_not_be_adjacent():
    reseller_id = await make_reseller("R1")
    rows = GOOD.splitlines()
    await import_contracts(csv_of(rows[0], rows[2], rows[1], rows[3]), reseller_id)
    assert [a[1] for a in await articles_of("29962")] == ["Q207B17555", "Z9CBPM5M"]


async def test_reimporting_a_number_updates_the_contract_and_replaces_its_articles():
    reseller_id = await make_reseller("R1")
    await import_contracts(csv_of(GOOD), reseller_id)
    original = await Contract.objects().where(Contract.number == "29962").first()
    nas_before = await Article.objects().where(Article.serial_number == "Q207B17555").first()

    await import_contracts(csv_of(
        "29962,TS-131K-2TIW,01/02/2024,01/02/2029,nas,NAS QNAP TS-131K rev B,TS-131K,Q207B17555,",
        "29962,TS-131K-2TIW,01/02/2024,01/02/2029,disk,Disque 2 To,ST2000VN003,NEWDISK01,",
    ), reseller_id)

    updated = await Contract.objects().where(Contract.number == "29962").first()
    assert updated.id == original.id
    assert (updated.product_reference, updated.starts_on, updated.ends_on) == (
        "TS-131K-2TIW", date(2024, 2, 1), date(2029, 2, 1))
    assert await articles_of("29962") == [
        ("nas", "Q207B17555", "TS-131K", "NAS QNAP TS-131K rev B", 0),
        ("disk", "NEWDISK01", "ST2000VN003", "Disque 2 To", 1),
    ]
    assert not await Article.exists().where(Article.serial_number == "Z9CBPM5M")
    nas_after = await Article.objects().where(Article.serial_number == "Q207B17555").first()
    assert nas_after.id == nas_before.id  # a kept article keeps its identity (incidents point at it)
    assert await Contract.count() == 2  # 30102 untouched
    assert len(await articles_of("30102")) == 3


async def test_reimport_keeps_the_claim_of_an_activated_contract():
    from tests.factories import make_customer

    reseller_id = await make_reseller("R1")
    await import_contracts(csv_of(GOOD), reseller_id)
    customer = await make_customer("acme", serial="Q207B17555")
    await import_contracts(csv_of(
        "29962,TS-131K-1TIW,2024-01-15,2030-01-15,nas,NAS QNAP TS-131K,TS-131K,Q207B17555,"), reseller_id)
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.company == customer.company_id
    assert contract.activated_by == customer.admin_id
    assert contract.ends_on == date(2030, 1, 15)


async def test_a_nas_serial_may_move_to_a_new_number_when_its_old_contract_gives_it_up():
    reseller_id = await make_reseller("R1")
    await import_contracts(csv_of("A1,P,2024-01-01,2026-01-01,nas,NAS,P,SERIAL1,"), reseller_id)
    # the same NAS re-imported under its own number is not a clash with itself
    await import_contracts(csv_of("A1,P,2024-01-01,2027-01-01,nas,NAS,P,serial1,"), reseller_id)
    assert (await Contract.objects().first()).ends_on == date(2027, 1, 1)


async def test_preview_writes_nothing():
    reseller_id = await make_reseller("R1")
    preview = await preview_import(csv_of(GOOD), reseller_id)
    assert preview.ok
    assert [c.number for c in preview.contracts] == ["29962", "30102"]
    assert await Contract.count() == 0


# --- refusals: all or nothing, every bad line named ------------------------------------------------


@pytest.mark.parametrize("row, column, reason", [
    ("C1,P,2024-13-01,2026-01-01,nas,NAS,P,S1,", "starts_on", "date invalide « 2024-13-01 »"),
    ("C1,P,2024-01-01,31/02/2026,nas,NAS,P,S1,", "ends_on", "date invalide « 31/02/2026 »"),
    ("C1,P,,2026-01-01,nas,NAS,P,S1,", "starts_on", "date invalide"),
    ("C1,P,2024-01-01,12-31-2026,nas,NAS,P,S1,", "ends_on", "date invalide"),
    ("C1,P,2024-01-01,2023-12-31,nas,NAS,P,S1,", "ends_on", "la fin de garantie précède le début"),
    ("C1,P,2024-01-01,2026-01-01,ssd,SSD,P,S1,", "article_kind", "« ssd » : attendu nas, disk ou other"),
    ("C1,P,2024-01-01,2026-01-01,nas,,P,S1,", "article_designation", "valeur obligatoire"),
    ("C1,P,2024-01-01,2026-01-01,nas,NAS,,S1,", "article_reference", "valeur obligatoire"),
    ("C1,P,2024-01-01,2026-01-01,nas,NAS,P,,", "article_serial", "valeur obligatoire"),
    ("C1,,2024-01-01,2026-01-01,nas,NAS,P,S1,", "product_reference", "valeur obligatoire"),
    (",P,2024-01-01,2026-01-01,nas,NAS,P,S1,", "contract_number", "valeur obligatoire"),
    ("C1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,ftp://specs", "specs_url", "adresse invalide"),
])
async def test_one_bad_line_imports_nothing_and_is_reported(row, column, reason):
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(GOOD, row), reseller_id)  # GOOD holds lines 2-6; the bad one is 7
    assert has_error(errors, 7, column, reason), errors
    assert all(e.line == 7 for e in errors), errors
    assert await Contract.count() == 0


async def test_every_bad_line_is_reported_with_line_column_and_reason():
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        "C1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,",          # line 2: fine
        "C2,P,2024-99-01,2026-01-01,nas,NAS,P,S2,",          # line 3: bad date
        "C3,P,2024-01-01,2026-01-01,nas,NAS,P,S3,",          # line 4: fine
        "C3,P,2024-01-01,2026-01-01,tape,Bande,P,T3,",       # line 5: unknown kind
        "C4,P,2025-01-01,2024-01-01,nas,NAS,P,S4,",          # line 6: end before start
        "C5,P,2024-01-01,2026-01-01,disk,,P,D5,",            # line 7: no designation, no nas
    ), reseller_id)
    assert has_error(errors, 3, "starts_on", "date invalide « 2024-99-01 »")
    assert has_error(errors, 5, "article_kind", "« tape »")
    assert has_error(errors, 6, "ends_on", "précède")
    assert has_error(errors, 7, "article_designation", "valeur obligatoire")
    assert has_error(errors, 7, "article_kind", "le contrat C5 doit avoir exactement un article nas")
    assert not any(e.line in (2, 4) for e in errors)
    assert [e.line for e in errors] == sorted(e.line for e in errors)
    assert str(next(e for e in errors if e.line == 3)).startswith("ligne 3, colonne starts_on : ")


async def test_a_contract_with_two_nas_articles_is_refused():
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        "C1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,",
        "C1,P,2024-01-01,2026-01-01,nas,NAS bis,P,S2,",
    ), reseller_id)
    assert has_error(errors, 2, "article_kind", "le contrat C1 doit avoir exactement un article nas")


async def test_a_contract_without_a_nas_article_is_refused():
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        GOOD,
        "C1,P,2024-01-01,2026-01-01,disk,Disque,P,D1,",
        "C1,P,2024-01-01,2026-01-01,other,Câble,P,X1,",
    ), reseller_id)
    assert has_error(errors, 7, "article_kind", "le contrat C1 doit avoir exactement un article nas")


async def test_a_nas_serial_already_used_by_another_contract_in_the_database_is_refused():
    reseller_id = await make_reseller("R1")
    await import_contracts(csv_of("OLD1,P,2024-01-01,2026-01-01,nas,NAS,P,SHARED01,"), reseller_id)
    errors = await refusal(csv_of(
        "NEW1,P,2024-01-01,2026-01-01,disk,Disque,P,D1,",
        "NEW1,P,2024-01-01,2026-01-01,nas,NAS,P, shared 01 ,",
    ), reseller_id)
    assert has_error(errors, 3, "article_serial", "déjà rattaché au contrat OLD1")
    assert not await Contract.exists().where(Contract.number == "NEW1")


async def test_a_nas_serial_of_another_resellers_contract_is_refused():
    other = await make_reseller("R2")
    await import_contracts(csv_of("THEIRS,P,2024-01-01,2026-01-01,nas,NAS,P,SHARED02,"), other)
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of("MINE,P,2024-01-01,2026-01-01,nas,NAS,P,SHARED02,"), reseller_id)
    assert has_error(errors, 2, "article_serial", "déjà rattaché")


async def test_a_nas_serial_duplicated_inside_the_file_is_refused():
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        "C1,P,2024-01-01,2026-01-01,nas,NAS,P,DUP01,",
        "C2,P,2024-01-01,2026-01-01,nas,NAS,P,dup 01,",
    ), reseller_id)
    assert has_error(errors, 3, "article_serial", "n° de série NAS déjà utilisé par le contrat C1")


async def test_a_contract_number_of_another_reseller_is_refused_and_left_untouched():
    other = await make_reseller("R2")
    await import_contracts(csv_of("29962,P,2024-01-01,2026-01-01,nas,NAS,P,THEIRS01,"), other)
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        "29962,HIJACK,2020-01-01,2030-01-01,nas,NAS,P,MINE01,",
    ), reseller_id)
    assert has_error(errors, 2, "contract_number", "appartient à un autre revendeur")
    contract = await Contract.objects().first()
    assert (contract.reseller, contract.product_reference) == (other, "P")
    assert [a[1] for a in await articles_of("29962")] == ["THEIRS01"]


async def test_a_header_missing_a_column_is_refused_on_line_one():
    reseller_id = await make_reseller("R1")
    header = HEADER.replace(",specs_url", "").replace("article_kind,", "")
    errors = await refusal(header + "C1,P,2024-01-01,2026-01-01,NAS,P,S1\n", reseller_id)
    assert len(errors) == 1
    assert errors[0].line == 1
    assert "article_kind" in errors[0].column and "specs_url" in errors[0].column
    assert "manquante" in errors[0].reason


async def test_a_file_with_only_a_header_is_refused():
    reseller_id = await make_reseller("R1")
    errors = await refusal(HEADER, reseller_id)
    assert errors and "aucune ligne" in errors[0].reason


async def test_rows_of_one_contract_that_disagree_on_its_dates_are_refused():
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        "C1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,",
        "C1,P,2024-01-01,2027-01-01,disk,Disque,P,D1,",
    ), reseller_id)
    assert has_error(errors, 3, "contract_number", "différentes de la ligne 2")


async def test_the_same_article_twice_in_a_contract_is_refused():
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(
        "C1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,",
        "C1,P,2024-01-01,2026-01-01,disk,Disque,P,D1,",
        "C1,P,2024-01-01,2026-01-01,disk,Disque,P,d1,",
    ), reseller_id)
    assert has_error(errors, 4, "article_serial", "article en double")


async def test_a_reimport_cannot_drop_an_article_cited_by_an_incident():
    from app.db.tables import Company, Incident, IncidentArticle

    reseller_id = await make_reseller("R1")
    await import_contracts(csv_of(GOOD), reseller_id)
    contract = await Contract.objects().where(Contract.number == "29962").first()
    disk = await Article.objects().where(Article.serial_number == "Z9CBPM5M").first()
    company_id = (await Company.insert(Company(
        name="Acme", street="1 rue", city="Lyon", postal_code="69001", country="France",
        email="a@example.com", phone="0123456789")).returning(Company.id))[0]["id"]
    incident_id = (await Incident.insert(Incident(contract=contract.id, company=company_id, reseller=contract.reseller)).returning(
        Incident.id))[0]["id"]
    await IncidentArticle.insert(IncidentArticle(incident=incident_id, article=disk.id))
    errors = await refusal(csv_of(
        "29962,TS-131K-1TIW,2024-01-15,2027-01-15,nas,NAS QNAP TS-131K,TS-131K,Q207B17555,"), reseller_id)
    assert has_error(errors, 2, "article_serial", "Z9CBPM5M est cité par un incident")


async def test_a_refused_reimport_leaves_the_existing_contract_as_it_was():
    reseller_id = await make_reseller("R1")
    await import_contracts(csv_of(GOOD), reseller_id)
    before = await articles_of("29962")
    await refusal(csv_of(
        "29962,TS-131K-1TIW,2024-01-15,2031-01-15,nas,NAS QNAP TS-131K,TS-131K,Q207B17555,",
        "NEW,P,2024-01-01,bientôt,nas,NAS,P,S9,",
    ), reseller_id)
    assert await articles_of("29962") == before
    assert (await Contract.objects().where(Contract.number == "29962").first()).ends_on == date(2027, 1, 15)


@pytest.mark.parametrize("row, column", [
    ("C1,P,2024-01-01,2026-01-01,nas," + "N" * 301 + ",P,S1,", "article_designation"),
    ("C1,P,2024-01-01,2026-01-01,nas,NAS," + "R" * 65 + ",S1,", "article_reference"),
    ("C1,P,2024-01-01,2026-01-01,nas,NAS,P," + "S" * 65 + ",", "article_serial"),
    ("C1," + "P" * 65 + ",2024-01-01,2026-01-01,nas,NAS,P,S1,", "product_reference"),
    ("C1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,https://example.com/" + "x" * 500, "specs_url"),
])
async def test_a_value_too_long_for_its_column_is_a_line_error_not_a_crash(row, column):
    reseller_id = await make_reseller("R1")
    errors = await refusal(csv_of(GOOD, row), reseller_id)
    assert any(e.line == 7 and e.column == column for e in errors), errors


def save_only_after_both_checked(monkeypatch) -> None:
    """Make two concurrent imports both check the database before either writes (a real race).

    An import that serialises itself (a lock) never lets both arrive: each then goes on alone.
    """
    import asyncio

    from app.contracts import csv_import

    arrived, both_checked = [], asyncio.Event()
    save = csv_import._save_contract

    async def save_after_both_checked(parsed, reseller_id):
        arrived.append(parsed.number)
        if len(arrived) == 2:
            both_checked.set()
        try:
            await asyncio.wait_for(both_checked.wait(), timeout=1)
        except TimeoutError:
            pass
        await save(parsed, reseller_id)

    monkeypatch.setattr(csv_import, "_save_contract", save_after_both_checked)


async def test_two_imports_racing_for_one_nas_serial_leave_one_contract_and_a_clean_refusal(
    monkeypatch,
):
    import asyncio

    save_only_after_both_checked(monkeypatch)
    reseller_id = await make_reseller("R1")
    results = await asyncio.gather(
        import_contracts(csv_of("RACE1,P,2024-01-01,2026-01-01,nas,NAS,P,RACED01,"), reseller_id),
        import_contracts(csv_of("RACE2,P,2024-01-01,2026-01-01,nas,NAS,P,RACED01,"), reseller_id),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], ImportRefused), repr(refused[0])
    assert await Contract.count() == 1
    assert await Article.count() == 1


async def test_two_resellers_racing_for_one_contract_number_cannot_overwrite_each_other(monkeypatch):
    import asyncio

    save_only_after_both_checked(monkeypatch)
    r1, r2 = await make_reseller("R1"), await make_reseller("R2")
    results = await asyncio.gather(
        import_contracts(csv_of("SAME,FROM-R1,2024-01-01,2026-01-01,nas,NAS,P,R1SERIAL,"), r1),
        import_contracts(csv_of("SAME,FROM-R2,2024-01-01,2026-01-01,nas,NAS,P,R2SERIAL,"), r2),
        return_exceptions=True,
    )
    outcomes = ["refused" if isinstance(r, BaseException) else "imported" for r in results]
    assert sorted(outcomes) == ["imported", "refused"], results
    loser = next(r for r in results if isinstance(r, BaseException))
    assert isinstance(loser, ImportRefused), repr(loser)
    winner_reseller, winner_product, winner_serial = (
        (r1, "FROM-R1", "R1SERIAL") if outcomes[0] == "imported" else (r2, "FROM-R2", "R2SERIAL"))
    contract = await Contract.objects().first()
    assert (contract.reseller, contract.product_reference) == (winner_reseller, winner_product)
    assert [a[1] for a in await articles_of("SAME")] == [winner_serial]
