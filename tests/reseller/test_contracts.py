"""Reseller view, Contrats (SPEC §4): search, the contract page, create and edit with articles, CSV import.

Only the reseller's administrators write (an agent gets 403 but reads); another reseller's contract
answers 404 like one that does not exist; a customer gets 404 on every URL.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from app.accounts.services import create_user
from app.contracts.csv_import import import_contracts, parse_contracts_csv
from app.contracts.services import claim_contract
from app.db.tables import Article, AuditEvent, Company, Contract
from app.web.formatting import date_fr, datetime_fr
from tests.factories import HEADER, make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare
from tests.support import DEFAULT_PASSWORD, csrf_token, field_error, field_value, post_form, sign_in, text_of

GOOD_CSV = (
    HEADER
    + "29962,TS-131K-1TIW,2024-01-15,2027-01-15,nas,NAS QNAP TS-131K,TS-131K, q207 b17555 ,"
      "https://www.qnap.com/specs\n"
    + "29962,TS-131K-1TIW,2024-01-15,2027-01-15,disk,Disque 1 To,ST1000VN002,z9cbpm5m,\n"
    + "30102,DS224PLUS-2G,15/06/2025,15/06/2028,nas,Synology DS224+,DS224+,2190QWR123456,\n"
)
BAD_CSV = (
    HEADER
    + "29962,TS-131K-1TIW,2024-13-45,2027-01-15,nas,NAS QNAP TS-131K,TS-131K,Q207B17555,\n"
    + "30102,DS224PLUS-2G,15/06/2025,15/06/2028,disk,Disque,WD40,WD-1,\n"
    + "30103,DS224PLUS-2G,15/06/2025,15/06/2028,nas,Synology DS224+,DS224+,SYN-3,\n"
)


async def _reseller(code: str = "R1", *, agent: bool = False) -> int:
    """A reseller with an administrator `admin_<code>` (and an agent `agent_<code>` if asked)."""
    reseller_id = await make_reseller(code, agent=f"agent_{code.lower()}" if agent else None)
    await create_user(username=f"admin_{code.lower()}", first_name="Admin", last_name=code,
                      email=f"admin_{code.lower()}@example.com", role="admin", reseller_id=reseller_id,
                      password=DEFAULT_PASSWORD)
    return reseller_id


def contract_form(number: str = "5001", *, product: str = "TS-131K-1TIW", starts: str = "2025-01-01",
                  ends: str = "2028-01-01", articles: list[dict] | None = None,
                  action: str = "save") -> list[tuple[str, str]]:
    """The contract form as a browser posts it: article rows keyed 0, 1, ..."""
    if articles is None:
        articles = [{"kind": "nas", "designation": "NAS QNAP Tour TS-131K", "reference": "TS-131K",
                     "serial": " q207 b17555 "},
                    {"kind": "disk", "designation": "Disque 1 To", "reference": "ST1000VN002",
                     "serial": "Z9CBPM5M"}]
    pairs = [("action", action), ("number", number), ("product_reference", product), ("starts_on", starts),
             ("ends_on", ends)]
    for index, article in enumerate(articles):
        key = article.get("key", str(index))
        for name in ("id", "kind", "designation", "reference", "serial", "specs_url", "specs_text"):
            pairs.append((f"articles-{key}-{name}", str(article.get(name, ""))))
    return pairs


async def holding_company(name: str, *serials: str) -> int:
    """A company without users (cheaper than make_customer) holding the contracts of these serials."""
    rows = await Company.insert(Company(
        name=name, street="1 rue Test", city="Lyon", postal_code="69001", country="France",
        email="contact@example.com", phone="0123456789",
    )).returning(Company.id)
    async with Company._meta.db.transaction():
        for serial in serials:
            await claim_contract(rows[0]["id"], None, serial)  # type: ignore[arg-type]
    return rows[0]["id"]


async def saved_articles(number: str) -> list[tuple[str, str, str, str, int]]:
    contract = await Contract.objects().where(Contract.number == number).first()
    rows = await Article.select(Article.kind, Article.serial_number, Article.product_reference,
                                Article.designation, Article.position).where(
        Article.contract == contract.id).order_by(Article.position)
    return [(r["kind"], r["serial_number"], r["product_reference"], r["designation"], r["position"])
            for r in rows]


async def snapshot() -> tuple[list, list]:
    return await Contract.select().order_by(Contract.id), await Article.select().order_by(Article.id)


async def upload(client, url: str, content: bytes, *, name: str = "contrats.csv", headers: dict | None = None):
    token = await csrf_token(client)
    return await client.post(url, files={"file": (name, content, "text/csv")},
                             headers={"x-csrftoken": token, **(headers or {})})


# --- list and search -----------------------------------------------------------------------------


async def test_list_shows_the_resellers_contracts_only_with_their_client(client):
    reseller_id = await _reseller(agent=True)
    other = await make_reseller("R2")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_contract(reseller_id, "1002", "NAS0002")
    await make_contract(other, "2001", "OTHER01")
    await holding_company("Société acme", "NAS0001")
    await sign_in(client, "agent_r1")
    page = text_of((await client.get("/reseller/contracts")).text)
    assert "1001" in page and "1002" in page and "NAS0001" in page
    assert "2001" not in page and "OTHER01" not in page
    assert "Société acme" in page and "Non activé" in page
    assert "Nouveau contrat" not in page and "Importer un CSV" not in page  # an agent reads only


async def test_search_by_number_serial_and_company(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await make_contract(reseller_id, "1002", "NAS0002", product="DS224PLUS")
    await make_contract(reseller_id, "1003", "NAS0003")
    await holding_company("Société acme", "NAS0003")
    await sign_in(client, "admin_r1")
    for query, expected, absent in (("1001", "1001", "1002"), ("disk 0001", "1001", "1002"),
                                    ("nas0002", "1002", "1001"), ("acme", "1003", "1001"),
                                    ("ds224", "1002", "1003")):
        page = text_of((await client.get("/reseller/contracts", params={"q": query})).text)
        assert expected in page, query
        assert absent not in page, query
    empty = text_of((await client.get("/reseller/contracts", params={"q": "zzz%"})).text)
    assert "Aucun contrat ne correspond à « zzz% »" in empty


async def test_a_whole_serial_or_number_finds_that_contract_within_the_resellers_own(client):
    """An exact number or serial is answered by index probes (a reseller may hold 100,000
    contracts), and only among the reseller's contracts; a fragment still searches them all."""
    reseller_id = await _reseller()
    await make_contract(reseller_id, "2001", "ABC1")
    await make_contract(reseller_id, "2002", "ABC10")
    await make_contract(reseller_id, "L-2003", "XYZ90")
    other = await make_reseller("R2")
    await make_contract(other, "3001", "XYZ9")
    await sign_in(client, "admin_r1")
    exact = text_of((await client.get("/reseller/contracts", params={"q": "abc 1"})).text)
    assert "2001" in exact and "2002" not in exact
    fragment = text_of((await client.get("/reseller/contracts", params={"q": "abc"})).text)
    assert "2001" in fragment and "2002" in fragment
    assert "L-2003" in text_of((await client.get("/reseller/contracts", params={"q": "l-2003"})).text)
    # R2's exact match is not R1's: R1's fragment search goes on and finds XYZ90
    page = (await client.get("/reseller/contracts", params={"q": "xyz9"})).text
    assert "/reseller/contracts/3001" not in page and "/reseller/contracts/L-2003" in page
    page = (await client.get("/reseller/contracts", params={"q": "3001"})).text
    assert "/reseller/contracts/3001" not in page and "Aucun contrat ne correspond" in text_of(page)


async def test_search_as_you_type_answers_only_the_results_block(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001")
    await sign_in(client, "admin_r1")
    response = await client.get("/reseller/contracts", params={"q": "1001"},
                                headers={"HX-Request": "true", "HX-Target": "contract-results"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="contract-results"')
    assert "<html" not in response.text and "1001" in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_list_is_paginated_by_25(client):
    reseller_id = await _reseller()
    lines = [f"{6000 + i},TS-131K-1TIW,2025-01-01,2028-01-01,nas,NAS,TS-131K,SER{i:03d}," for i in range(30)]
    await import_contracts(HEADER + "\n".join(lines) + "\n", reseller_id)
    await sign_in(client, "admin_r1")
    first = (await client.get("/reseller/contracts")).text
    second = (await client.get("/reseller/contracts", params={"page": 2})).text
    assert first.count(">Voir<") == 25 and second.count(">Voir<") == 5
    assert "1–25 sur 30" in text_of(first) and 'rel="next"' in first and 'rel="prev"' in second



async def test_a_long_list_is_counted_up_to_a_cap_and_still_pages_on(client):
    """A reseller may hold 100,000 contracts: the list counts at most 1,000 past the page."""
    reseller_id = await _reseller()
    await Contract.raw(
        """INSERT INTO contract (number, product_reference, reseller, starts_on, ends_on)
           SELECT 'L' || n, 'TS-131K', {}, DATE '2025-01-01', DATE '2028-01-01' FROM generate_series(1, 1100) AS n""",
        reseller_id,
    )
    await sign_in(client, "admin_r1")
    first = text_of((await client.get("/reseller/contracts")).text)
    assert "1–25 sur plus de 1 000" in first and "Page 1 /" not in first and "Suivant" in first
    last = text_of((await client.get("/reseller/contracts", params={"page": 44})).text)
    assert "1 076–1 100 sur 1 100" in last and "Page 44 / 44" in last and "Suivant" not in last

# --- the contract page ---------------------------------------------------------------------------


async def test_contract_page_shows_articles_and_which_company_activated_it_and_when(client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await make_contract(reseller_id, "1002", "NAS0002")
    customer = await make_customer("acme", serial="NAS0001")  # activated by acme_admin
    activated_at = (await Contract.objects().where(Contract.number == "1001").first()).activated_at

    await sign_in(client, "agent_r1")
    page = (await client.get("/reseller/contracts/1001")).text
    text = text_of(page)
    assert "Contrat n°1001 pour TS-131K-1TIW" in text
    assert "NAS0001" in text and "DISK0001" in text
    assert f'href="/reseller/clients/{customer.company_id}"' in page and "Société acme" in text
    assert f"Activé le {datetime_fr(activated_at)}" in text
    assert "Activé par Admin acme" in text
    assert "Modifier le contrat" not in text  # an agent
    unclaimed = text_of((await client.get("/reseller/contracts/1002")).text)
    assert "Pas encore activé" in unclaimed
    listing = text_of((await client.get("/reseller/contracts")).text)
    assert f"Société acme activé le {date_fr(activated_at)}" in listing


async def test_contract_page_lists_its_incidents(client, new_client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    acme = new_client()
    await sign_in(acme, "acme_admin")
    number = await declare(acme, "1001", title="Le NAS ne démarre plus")
    await sign_in(client, "agent_r1")
    page = (await client.get("/reseller/contracts/1001")).text
    assert f'href="/reseller/incidents/{number}"' in page
    assert "Le NAS ne démarre plus" in text_of(page) and "Nouveau" in text_of(page)


# --- create --------------------------------------------------------------------------------------


async def test_new_contract_form_starts_with_one_nas_row(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    page = (await client.get("/reseller/contracts/new")).text
    assert "Nouveau contrat" in text_of(page)
    assert re.search(r'<option value="nas" selected>NAS</option>', page)
    assert 'name="articles-0-serial"' in page and 'name="articles-1-serial"' not in page
    assert "Ajouter un article" in page and 'hx-get="/reseller/contracts/article-row"' in page
    assert 'name="_csrf_token"' in page


async def test_admin_creates_a_contract_with_its_articles(client):
    reseller_id = await _reseller()
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "nas", "designation": "NAS QNAP Tour TS-131K", "reference": "TS-131K",
         "serial": " q207 b17555 ", "specs_url": "https://www.qnap.com/specs"},
        {"kind": "disk", "designation": "Disque 1 To", "reference": "ST1000VN002", "serial": "z9cbpm5m",
         "specs_text": "1 To, 5400 tr/min"},
    ]))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/reseller/contracts/5001?saved=created"
    contract = await Contract.objects().where(Contract.number == "5001").first()
    assert contract.reseller == reseller_id and contract.company is None
    assert (contract.product_reference, contract.starts_on, contract.ends_on) == (
        "TS-131K-1TIW", date(2025, 1, 1), date(2028, 1, 1))
    assert await saved_articles("5001") == [
        ("nas", "Q207B17555", "TS-131K", "NAS QNAP Tour TS-131K", 0),
        ("disk", "Z9CBPM5M", "ST1000VN002", "Disque 1 To", 1),
    ]
    disk = await Article.objects().where(Article.serial_number == "Z9CBPM5M").first()
    assert disk.specs_text == "1 To, 5400 tr/min"
    page = text_of((await client.get(response.headers["location"])).text)
    assert "Le contrat est créé." in page and "Q207B17555" in page and "Pas encore activé" in page
    assert await AuditEvent.count().where(AuditEvent.action == "contract_created") == 1


async def test_a_created_contract_can_be_activated_by_a_customer(client, new_client):
    await _reseller()
    await sign_in(client, "admin_r1")
    await post_form(client, "/reseller/contracts", contract_form())
    customer = await make_customer("acme")
    acme = new_client()
    await sign_in(acme, "acme_admin")
    response = await post_form(acme, "/contracts/activate", {"serial": "Q207B17555"})
    assert response.headers["location"] == "/contracts/5001?activated=1"
    assert (await Contract.objects().where(Contract.number == "5001").first()).company == customer.company_id


async def test_refused_form_shows_each_fault_beside_its_field_and_keeps_the_values(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/contracts", contract_form(
        "5 001", product="", starts="2025-01-01", ends="2024-12-31", articles=[
            {"kind": "nas", "designation": "NAS QNAP", "reference": "TS-131K", "serial": "Q1",
             "specs_url": "ftp://example.com"},
            {"kind": "nas", "designation": "", "reference": "X", "serial": "Q2"},
            {"kind": "disk", "designation": "Disque", "reference": "WD", "serial": ""},
            {"kind": "bogus", "designation": "Autre", "reference": "Y", "serial": "Y1"},
        ]))
    assert response.status_code == 422
    page = response.text
    assert field_error(page, "number") == "Lettres, chiffres et . _ - seulement, sans espace."
    assert field_error(page, "product_reference") == "Ce champ est obligatoire."
    assert field_error(page, "ends_on") == "La fin de garantie doit être postérieure au début du contrat."
    assert field_error(page, "articles-0-specs_url").startswith("Adresse invalide")
    assert field_error(page, "articles-1-kind").startswith("Un seul article NAS par contrat")
    assert field_error(page, "articles-1-designation") == "Ce champ est obligatoire."
    assert field_error(page, "articles-2-serial") == "Ce champ est obligatoire."
    assert field_error(page, "articles-3-kind") == "Choisissez le type de l'article."
    assert field_value(page, "number") == "5 001"
    assert field_value(page, "articles-0-specs_url") == "ftp://example.com"
    assert field_value(page, "articles-3-serial") == "Y1"
    assert "champs sont à corriger" in text_of(page)
    assert await Contract.count() == 0 and await Article.count() == 0


async def test_a_contract_needs_exactly_one_nas_article(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    no_nas = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "disk", "designation": "Disque", "reference": "WD", "serial": "WD1"}]))
    assert no_nas.status_code == 422
    assert field_error(no_nas.text, "articles").startswith("Le contrat doit avoir un article de type NAS")
    nothing = await post_form(client, "/reseller/contracts", contract_form(articles=[]))
    assert field_error(nothing.text, "articles") == "Ajoutez au moins l'article NAS du contrat."
    assert await Contract.count() == 0


async def test_a_contract_has_at_most_50_articles(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    disks = [{"kind": "disk", "designation": "Disque", "reference": "WD", "serial": f"D{i}"} for i in range(50)]
    response = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "nas", "designation": "NAS", "reference": "TS", "serial": "N1"}, *disks]))
    assert response.status_code == 422
    assert field_error(response.text, "articles") == "50 articles au maximum par contrat."
    assert await Contract.count() == 0


async def test_end_of_protection_must_come_after_the_start(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    same_day = await post_form(client, "/reseller/contracts",
                               contract_form(starts="2025-01-01", ends="2025-01-01"))
    assert field_error(same_day.text, "ends_on") == (
        "La fin de garantie doit être postérieure au début du contrat.")
    bad = await post_form(client, "/reseller/contracts", contract_form(starts="2025-02-30", ends="demain"))
    assert field_error(bad.text, "starts_on") == "Date invalide (JJ/MM/AAAA)."
    assert field_error(bad.text, "ends_on") == "Date invalide (JJ/MM/AAAA)."
    french = await post_form(client, "/reseller/contracts",
                             contract_form(starts="01/02/2025", ends="01/02/2028"))
    assert french.status_code == 303
    assert (await Contract.objects().first()).starts_on == date(2025, 2, 1)


async def test_number_and_nas_serial_are_unique_without_revealing_another_resellers_contracts(client):
    reseller_id = await _reseller()
    other = await make_reseller("R2")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_contract(other, "2001", "OTHER01")
    await sign_in(client, "admin_r1")
    before = await snapshot()
    mine = await post_form(client, "/reseller/contracts", contract_form("1001"))
    assert field_error(mine.text, "number") == "Le contrat n°1001 existe déjà."
    theirs = await post_form(client, "/reseller/contracts", contract_form("2001"))
    assert field_error(theirs.text, "number") == "Ce numéro de contrat est déjà utilisé."
    serial_here = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "nas", "designation": "NAS", "reference": "TS", "serial": "nas 0001"}]))
    assert field_error(serial_here.text, "articles-0-serial") == (
        "Ce n° de série NAS est déjà rattaché au contrat n°1001.")
    serial_there = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "nas", "designation": "NAS", "reference": "TS", "serial": "other01"}]))
    message = field_error(serial_there.text, "articles-0-serial")
    assert message == "Ce n° de série NAS est déjà rattaché à un autre contrat."
    assert "2001" not in text_of(serial_there.text)
    duplicate = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "nas", "designation": "NAS", "reference": "TS", "serial": "N1"},
        {"kind": "disk", "designation": "Disque", "reference": "WD", "serial": "D1"},
        {"kind": "disk", "designation": "Disque", "reference": "WD", "serial": "d 1"}]))
    assert field_error(duplicate.text, "articles-2-serial").startswith("Ce n° de série figure déjà")
    for response in (mine, theirs, serial_here, serial_there, duplicate):
        assert response.status_code == 422
    assert await snapshot() == before


async def test_rows_are_added_and_removed_without_javascript_and_nothing_is_saved(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    added = await post_form(client, "/reseller/contracts", contract_form(action="add-row"))
    assert added.status_code == 200
    assert 'name="articles-2-serial"' in added.text
    assert field_value(added.text, "articles-1-serial") == "Z9CBPM5M"
    assert field_value(added.text, "number") == "5001"
    assert field_error(added.text, "articles-2-serial") is None  # a new row is not an error yet
    removed = await post_form(client, "/reseller/contracts", contract_form(action="remove-0"))
    assert removed.status_code == 200
    assert 'name="articles-0-serial"' not in removed.text and 'name="articles-1-serial"' in removed.text
    assert await Contract.count() == 0


async def test_enter_in_a_field_saves_rather_than_removing_a_row(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    page = (await client.get("/reseller/contracts/new")).text
    form = page[page.index('<form id="contract-form"'):]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'value="save"' in first_button  # the form's default button


async def test_htmx_adds_an_empty_row_and_removes_one_in_place(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    row = await client.get("/reseller/contracts/article-row",
                           headers={"HX-Request": "true", "HX-Target": "article-rows"})
    assert row.status_code == 200 and "<html" not in row.text
    assert row.text.lstrip().startswith('<fieldset class="article-row"')
    keys = set(re.findall(r'name="articles-(\w+)-serial"', row.text))
    assert len(keys) == 1
    again = await client.get("/reseller/contracts/article-row")
    assert set(re.findall(r'name="articles-(\w+)-serial"', again.text)) != keys  # never the same names
    removed = await client.get("/reseller/contracts/article-row/removed",
                               headers={"HX-Request": "true"})
    assert removed.status_code == 200 and removed.text == ""
    # A row added by htmx is saved with the form like any other.
    [key] = keys
    response = await post_form(client, "/reseller/contracts", contract_form(articles=[
        {"kind": "nas", "designation": "NAS", "reference": "TS", "serial": "N1"},
        {"key": key, "kind": "other", "designation": "Bloc secteur", "reference": "PSU", "serial": "P1"}]))
    assert response.status_code == 303
    assert [a[:2] for a in await saved_articles("5001")] == [("nas", "N1"), ("other", "P1")]


async def test_create_through_htmx_redirects_with_hx_location_and_refusal_swaps_the_form(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    headers = {"HX-Request": "true", "HX-Target": "contract-form"}
    refused = await post_form(client, "/reseller/contracts", contract_form(product=""), headers=headers)
    assert refused.status_code == 422
    assert refused.text.lstrip().startswith('<form id="contract-form"') and "<html" not in refused.text
    assert field_error(refused.text, "product_reference") == "Ce champ est obligatoire."
    created = await post_form(client, "/reseller/contracts", contract_form(), headers=headers)
    assert created.headers["hx-location"] == "/reseller/contracts/5001?saved=created"


# --- edit ----------------------------------------------------------------------------------------


async def test_edit_form_is_filled_with_the_saved_contract(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await sign_in(client, "admin_r1")
    page = (await client.get("/reseller/contracts/1001/edit")).text
    assert field_value(page, "number") == "1001"
    assert field_value(page, "product_reference") == "TS-131K-1TIW"
    assert field_value(page, "articles-0-serial") == "NAS0001"
    assert field_value(page, "articles-1-serial") == "DISK0001"
    nas_id = (await Article.objects().where(Article.serial_number == "NAS0001").first()).id
    assert f'name="articles-0-id" value="{nas_id}"' in page


async def test_admin_edits_dates_and_articles_adding_changing_and_removing(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001", "DISK0002"))
    nas = await Article.objects().where(Article.serial_number == "NAS0001").first()
    disk1 = await Article.objects().where(Article.serial_number == "DISK0001").first()
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/contracts/1001", contract_form(
        "1001", product="TS-131K-2TIW", starts="2025-01-01", ends="2030-12-31", articles=[
            {"id": nas.id, "kind": "nas", "designation": "NAS renommé", "reference": "TS-131K",
             "serial": "NAS0001"},
            {"id": disk1.id, "kind": "disk", "designation": "Disque 2 To", "reference": "WD20",
             "serial": "DISK0001"},
            {"kind": "other", "designation": "Bloc secteur", "reference": "PSU-65W", "serial": "psu 1"},
        ]))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/reseller/contracts/1001?saved=updated"
    contract = await Contract.objects().where(Contract.number == "1001").first()
    assert (contract.product_reference, contract.ends_on) == ("TS-131K-2TIW", date(2030, 12, 31))
    assert await saved_articles("1001") == [
        ("nas", "NAS0001", "TS-131K", "NAS renommé", 0),
        ("disk", "DISK0001", "WD20", "Disque 2 To", 1),
        ("other", "PSU1", "PSU-65W", "Bloc secteur", 2),
    ]
    assert (await Article.objects().where(Article.serial_number == "NAS0001").first()).id == nas.id
    assert await Article.count().where(Article.serial_number == "DISK0002") == 0
    assert "Le contrat est enregistré." in text_of((await client.get(response.headers["location"])).text)


async def test_edit_can_swap_which_article_is_the_nas(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    nas = await Article.objects().where(Article.serial_number == "NAS0001").first()
    disk = await Article.objects().where(Article.serial_number == "DISK0001").first()
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/contracts/1001", contract_form("1001", articles=[
        {"id": nas.id, "kind": "disk", "designation": "Ancien", "reference": "X", "serial": "NAS0001"},
        {"id": disk.id, "kind": "nas", "designation": "Nouveau", "reference": "Y", "serial": "DISK0001"}]))
    assert response.status_code == 303, response.text
    assert [a[:2] for a in await saved_articles("1001")] == [("disk", "NAS0001"), ("nas", "DISK0001")]


async def test_renumbering_moves_the_contract_to_its_new_address(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001")
    nas = await Article.objects().first()
    await sign_in(client, "admin_r1")
    response = await post_form(client, "/reseller/contracts/1001", contract_form("1001-B", articles=[
        {"id": nas.id, "kind": "nas", "designation": "NAS", "reference": "TS", "serial": "NAS0001"}]))
    assert response.headers["location"] == "/reseller/contracts/1001-B?saved=updated"
    assert (await client.get("/reseller/contracts/1001")).status_code == 404
    assert (await client.get("/reseller/contracts/1001-B")).status_code == 200


async def test_refused_edit_keeps_the_values_and_changes_nothing(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_contract(reseller_id, "1002", "NAS0002")
    nas = await Article.objects().where(Article.serial_number == "NAS0001").first()
    await sign_in(client, "admin_r1")
    before = await snapshot()
    response = await post_form(client, "/reseller/contracts/1001", contract_form(
        "1002", ends="2020-01-01", articles=[
        {"id": nas.id, "kind": "nas", "designation": "NAS", "reference": "TS", "serial": "NAS0002"}]))
    assert response.status_code == 422
    assert field_error(response.text, "number") == "Le contrat n°1002 existe déjà."
    assert field_error(response.text, "ends_on").startswith("La fin de garantie")
    assert field_error(response.text, "articles-0-serial").endswith("au contrat n°1002.")
    assert field_value(response.text, "articles-0-serial") == "NAS0002"
    assert await snapshot() == before


async def test_articles_cited_by_an_incident_stay_and_keep_their_serial(client, new_client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001", disks=("DISK0001",))
    await make_customer("acme", serial="NAS0001")
    acme = new_client()
    await sign_in(acme, "acme_admin")
    await declare(acme, "1001")  # cites every article of the contract
    nas = await Article.objects().where(Article.serial_number == "NAS0001").first()
    await sign_in(client, "admin_r1")
    form = (await client.get("/reseller/contracts/1001/edit")).text
    assert "Retirer cet article" not in form and "cité par un incident" in form
    before = await snapshot()
    response = await post_form(client, "/reseller/contracts/1001", contract_form("1001", articles=[
        {"id": nas.id, "kind": "nas", "designation": "NAS", "reference": "TS", "serial": "NAS9999"}]))
    assert response.status_code == 422
    assert field_error(response.text, "articles").startswith("L'article DISK0001 est cité par un incident")
    assert "son n° de série ne peut plus changer" in field_error(response.text, "articles-0-serial")
    assert await snapshot() == before


# --- who may do what -----------------------------------------------------------------------------


async def test_another_resellers_contract_answers_404_and_stays_unchanged(client):
    await _reseller()
    other = await make_reseller("R2")
    await make_contract(other, "2001", "OTHER01")
    await sign_in(client, "admin_r1")
    before = await snapshot()
    for url in ("/reseller/contracts/2001", "/reseller/contracts/2001/edit", "/reseller/contracts/nope"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Page introuvable" in response.text
    response = await post_form(client, "/reseller/contracts/2001", contract_form("2001"))
    assert response.status_code == 404
    assert await snapshot() == before


async def test_an_agent_reads_but_gets_403_on_every_write(client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    await sign_in(client, "agent_r1")
    assert (await client.get("/reseller/contracts")).status_code == 200
    assert (await client.get("/reseller/contracts/1001")).status_code == 200
    before = await snapshot()
    for url in ("/reseller/contracts/new", "/reseller/contracts/1001/edit", "/reseller/contracts/import",
                "/reseller/contracts/import/template.csv", "/reseller/contracts/article-row",
                "/reseller/contracts/article-row/removed"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "Action non autorisée" in response.text
    for url, data in (("/reseller/contracts", contract_form()),
                      ("/reseller/contracts/1001", contract_form("1001")),
                      ("/reseller/contracts/import/commit", [("csv", GOOD_CSV)])):
        assert (await post_form(client, url, data)).status_code == 403, url
    assert (await upload(client, "/reseller/contracts/import", GOOD_CSV.encode())).status_code == 403
    assert await snapshot() == before


async def test_a_customer_gets_404_on_every_reseller_contract_url(client):
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, "1001", "NAS0001")
    await make_customer("acme", serial="NAS0001")
    await sign_in(client, "acme_admin")
    for url in ("/reseller/contracts", "/reseller/contracts/new", "/reseller/contracts/1001",
                "/reseller/contracts/1001/edit", "/reseller/contracts/import",
                "/reseller/contracts/import/template.csv",
                "/reseller/contracts/article-row", "/reseller/contracts/article-row/removed"):
        assert (await client.get(url)).status_code == 404, url
    before = await snapshot()
    for url, data in (("/reseller/contracts", contract_form()),
                      ("/reseller/contracts/1001", contract_form("1001")),
                      ("/reseller/contracts/import/commit", [("csv", GOOD_CSV)])):
        assert (await post_form(client, url, data)).status_code == 404, url
    assert (await upload(client, "/reseller/contracts/import", GOOD_CSV.encode())).status_code == 404
    assert await snapshot() == before


async def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = await client.get("/reseller/contracts")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


# --- CSV import ----------------------------------------------------------------------------------


async def test_import_page_offers_the_upload_form_and_a_template(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    page = (await client.get("/reseller/contracts/import")).text
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="file"' in page
    assert "Vérifier le fichier" in page and 'name="_csrf_token"' in page
    template = await client.get("/reseller/contracts/import/template.csv")
    assert template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]
    assert parse_contracts_csv(template.text).ok  # the template itself imports


async def test_preview_shows_every_contract_and_writes_nothing(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "30102", "2190QWR123456")  # will be updated
    await sign_in(client, "admin_r1")
    before = await snapshot()
    response = await upload(client, "/reseller/contracts/import", GOOD_CSV.encode())
    assert response.status_code == 200, response.text
    page = text_of(response.text)
    assert "Le fichier est valide : 2 contrats (1 à créer, 1 à mettre à jour)" in page
    assert "29962" in page and "Q207B17555" in page and "Création" in page and "Mise à jour" in page
    assert "15/01/2024" in page and "15/06/2028" in page
    assert "Importer 2 contrats" in page
    kept = re.search(r'<textarea name="csv" hidden>(.*?)</textarea>', response.text, re.S).group(1)
    assert html.unescape(kept).strip() == GOOD_CSV.strip()
    assert await snapshot() == before


async def test_preview_lists_each_line_error_and_offers_no_import(client):
    reseller_id = await _reseller()
    other = await make_reseller("R2")
    await make_contract(other, "30103", "OTHER01")
    await sign_in(client, "admin_r1")
    response = await upload(client, "/reseller/contracts/import", BAD_CSV.encode())
    assert response.status_code == 422
    page = text_of(response.text)
    assert "erreurs : rien ne sera importé" in page
    assert "2 starts_on date invalide « 2024-13-45 »" in page
    assert "le contrat 30102 doit avoir exactement un article nas" in page
    assert "ce numéro de contrat appartient à un autre revendeur" in page
    assert "Importer" not in page.replace("Importer des contrats", "").replace("Importer un CSV", "")
    assert 'name="csv"' not in response.text
    assert await Contract.count().where(Contract.reseller == reseller_id) == 0


async def test_import_commits_every_contract(client):
    reseller_id = await _reseller()
    await sign_in(client, "admin_r1")
    windows = GOOD_CSV.replace("\n", "\r\n")  # what a browser posts from a textarea
    response = await post_form(client, "/reseller/contracts/import/commit", [("csv", windows)])
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/reseller/contracts?imported=2"
    assert await Contract.count().where(Contract.reseller == reseller_id) == 2
    assert [a[1] for a in await saved_articles("29962")] == ["Q207B17555", "Z9CBPM5M"]
    page = text_of((await client.get(response.headers["location"])).text)
    assert "2 contrats importés." in page and "29962" in page and "30102" in page


async def test_a_bad_line_at_commit_imports_nothing(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "29962", "Q207B17555")
    await sign_in(client, "admin_r1")
    before = await snapshot()
    text = GOOD_CSV + "30200,DS224PLUS-2G,2025-06-15,2024-06-15,nas,Synology,DS224+,SYN-9,\n"
    response = await post_form(client, "/reseller/contracts/import/commit", [("csv", text)])
    assert response.status_code == 422
    page = text_of(response.text)
    assert "Rien n'a été importé" in page
    assert "la fin de garantie précède le début du contrat" in page
    assert await snapshot() == before


async def test_commit_refused_when_the_database_changed_since_the_preview(client):
    reseller_id = await _reseller()
    await sign_in(client, "admin_r1")
    preview = await upload(client, "/reseller/contracts/import", GOOD_CSV.encode())
    assert preview.status_code == 200
    other = await make_reseller("R2")
    await make_contract(other, "9000", "Q207B17555")  # meanwhile, the NAS serial is taken
    before = await snapshot()
    response = await post_form(client, "/reseller/contracts/import/commit", [("csv", GOOD_CSV)])
    assert response.status_code == 422
    assert "n° de série NAS déjà rattaché à un autre contrat" in text_of(response.text)
    assert await snapshot() == before
    assert await Contract.count().where(Contract.reseller == reseller_id) == 0


async def test_upload_refuses_a_missing_or_non_utf8_file(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    latin1 = await upload(client, "/reseller/contracts/import",
                          GOOD_CSV.replace("Disque", "Unité é").encode("latin-1"))
    assert latin1.status_code == 422
    assert field_error(latin1.text, "file").startswith("Ce fichier n'est pas en UTF-8")
    token = await csrf_token(client)
    missing = await client.post("/reseller/contracts/import", files={"file": ("", b"", "text/csv")},
                                headers={"x-csrftoken": token})
    assert missing.status_code == 422
    assert field_error(missing.text, "file") == "Choisissez un fichier CSV à importer."
    too_big = await upload(client, "/reseller/contracts/import", b"x" * (2 * 1024 * 1024 + 1))
    assert field_error(too_big.text, "file").startswith("Le fichier dépasse 2 Mo")
    assert await Contract.count() == 0


async def test_import_through_htmx_swaps_the_panel_and_follows_hx_location(client):
    await _reseller()
    await sign_in(client, "admin_r1")
    headers = {"HX-Request": "true", "HX-Target": "import-panel"}
    preview = await upload(client, "/reseller/contracts/import", GOOD_CSV.encode(), headers=headers)
    assert preview.text.lstrip().startswith('<div id="import-panel"') and "<html" not in preview.text
    done = await post_form(client, "/reseller/contracts/import/commit", [("csv", GOOD_CSV)], headers=headers)
    assert done.headers["hx-location"] == "/reseller/contracts?imported=2"


async def test_expired_contract_shows_as_such(client):
    reseller_id = await _reseller()
    await make_contract(reseller_id, "1001", "NAS0001", ends_on=date.today() - timedelta(days=2))
    await sign_in(client, "admin_r1")
    page = text_of((await client.get("/reseller/contracts/1001")).text)
    assert "Matériel plus protégé depuis le" in page
    listing = text_of((await client.get("/reseller/contracts")).text)
    assert "Expiré le" in listing
