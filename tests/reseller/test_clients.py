"""Reseller view, Clients (SPEC §4): the companies holding the reseller's contracts, a page per company.

A reseller sees only the companies that hold its contracts, and of them only its own contracts and
the incidents on them; any other company answers 404; a customer gets 404 on every URL.
"""

from __future__ import annotations

from app.accounts.services import create_user
from app.contracts.services import claim_contract
from app.db.tables import Company, Contract, Incident
from app.incidents.services import change_status
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare, start
from tests.support import DEFAULT_PASSWORD, post_form, sign_in, text_of


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


async def _two_resellers_and_acme(new_client) -> dict:
    """R1 sold acme two contracts (one open incident, one resolved) and beta one; R2 sold acme one
    (with an open incident) and gamma one. R1 has an agent `agent_r1`."""
    r1 = await make_reseller("R1", agent="agent_r1")
    r2 = await make_reseller("R2")
    for number, serial in (("1001", "NAS0001"), ("1002", "NAS0002"), ("1003", "NAS0003"), ("1004", "NAS0004")):
        await make_contract(r1, number, serial)  # 1004 stays unclaimed
    await make_contract(r2, "2001", "NAS2001")
    await make_contract(r2, "2002", "NAS2002")
    acme = await make_customer("acme", serial="NAS0001")
    beta = await holding_company("Société beta", "NAS0003")
    gamma = await holding_company("Société gamma", "NAS2002")
    browser = new_client()
    await sign_in(browser, "acme_admin")
    for serial in ("NAS0002", "NAS2001"):
        await post_form(browser, "/contracts/activate", {"serial": serial})
    open_r1 = await declare(browser, "1001", title="Le NAS ne démarre plus")
    resolved_r1 = await declare(browser, "1002", title="Disque bruyant")
    open_r2 = await declare(browser, "2001", title="Panne chez R2")
    incident = await Incident.objects().where(Incident.number == resolved_r1).first()
    await change_status(incident.id, "new", "resolved", acme.admin_id)
    return {"r2": r2, "acme": acme.company_id, "beta": beta, "gamma": gamma, "browser": browser,
            "open_r1": open_r1, "resolved_r1": resolved_r1, "open_r2": open_r2}


async def test_clients_lists_the_companies_holding_the_resellers_contracts_with_counts(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    await sign_in(client, "agent_r1")
    response = await client.get("/reseller/clients")
    assert response.status_code == 200
    page = response.text
    text = text_of(page)
    assert "Société acme" in text and "Société beta" in text
    assert "Société gamma" not in text  # holds only R2's contracts
    acme_row = page[page.index(f'href="/reseller/clients/{world["acme"]}"'):]
    acme_row = text_of(acme_row[:acme_row.index("</tr>")])
    # Two R1 contracts (not R2's), one open incident (the resolved one and R2's are not counted).
    assert acme_row.endswith("2 1 incident ouvert chez Société acme"), acme_row
    beta_row = page[page.index(f'href="/reseller/clients/{world["beta"]}"'):]
    assert text_of(beta_row[:beta_row.index("</tr>")]).endswith("1 0")


async def test_client_page_shows_its_contracts_with_this_reseller_only(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    await sign_in(client, "agent_r1")
    response = await client.get(f"/reseller/clients/{world['acme']}")
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Clients > Société acme" in text
    assert "1 rue Test" in text and "69001 Lyon" in text and "acme@example.com" in text
    assert "1001" in text and "1002" in text and "NAS0001" in text
    assert "2001" not in text and "1003" not in text and "1004" not in text
    assert 'href="/reseller/contracts/1001"' in response.text
    assert "Contrats 2" in text and "Incidents 2" in text


async def test_client_incidents_tab_shows_the_incidents_on_this_resellers_contracts(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    await sign_in(client, "agent_r1")
    response = await client.get(f"/reseller/clients/{world['acme']}/incidents")
    assert response.status_code == 200
    page = response.text
    text = text_of(page)
    assert f'href="/reseller/incidents/{world["open_r1"]}"' in page
    assert f'href="/reseller/incidents/{world["resolved_r1"]}"' in page
    assert world["open_r2"] not in text and "Panne chez R2" not in text
    assert "Le NAS ne démarre plus" in text and "Nouveau" in text and "Résolu" in text
    assert "1 ouvert sur 2." in text


async def test_drafts_never_show_on_the_client_page(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    await start(world["browser"], "1001")  # a draft in progress
    await sign_in(client, "agent_r1")
    text = text_of((await client.get(f"/reseller/clients/{world['acme']}/incidents")).text)
    assert "1 ouvert sur 2." in text


async def test_client_tabs_swap_in_place_through_htmx(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    await sign_in(client, "agent_r1")
    response = await client.get(f"/reseller/clients/{world['acme']}/incidents",
                                headers={"HX-Request": "true", "HX-Target": "client-tab"})
    assert response.text.lstrip().startswith('<div id="client-tab"') and "<html" not in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_a_company_without_this_resellers_contracts_answers_404(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    await sign_in(client, "agent_r1")
    gamma = world["gamma"]
    for url in (f"/reseller/clients/{gamma}", f"/reseller/clients/{gamma}/incidents",
                "/reseller/clients/999999", "/reseller/clients/999999/incidents"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "Page introuvable" in response.text
    # Seen from R2: beta holds none of its contracts, acme does.
    await create_user(username="agent_r2", first_name="Agent", last_name="R2", email="agent_r2@example.com",
                      role="agent", reseller_id=world["r2"], password=DEFAULT_PASSWORD)
    await sign_in(client, "agent_r2")
    assert (await client.get(f"/reseller/clients/{world['beta']}")).status_code == 404
    assert (await client.get(f"/reseller/clients/{world['acme']}")).status_code == 200


async def test_a_customer_gets_404_on_every_reseller_clients_url(client, new_client):
    world = await _two_resellers_and_acme(new_client)
    company = world["acme"]
    client = world["browser"]  # signed in as acme_admin
    for url in ("/reseller/clients", f"/reseller/clients/{company}", f"/reseller/clients/{company}/incidents"):
        assert (await client.get(url)).status_code == 404, url


async def test_clients_are_searchable_and_paginated_by_25(client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    for index in range(27):
        rows = await Company.insert(Company(
            name=f"Entreprise {index:02d}", street="1 rue", city="Nantes" if index == 5 else "Lyon",
            postal_code="69001", country="France", email=f"e{index}@example.com", phone="0123456789",
        )).returning(Company.id)
        await make_contract(reseller_id, f"{3000 + index}", f"S{index:03d}")
        await Contract.update({Contract.company: rows[0]["id"]}).where(Contract.number == f"{3000 + index}")
    await sign_in(client, "agent_r1")
    first = text_of((await client.get("/reseller/clients")).text)
    second = text_of((await client.get("/reseller/clients", params={"page": 2})).text)
    assert "1–25 sur 27" in first and "Entreprise 00" in first and "Entreprise 25" not in first
    assert "Entreprise 25" in second and "Entreprise 26" in second
    found = await client.get("/reseller/clients", params={"q": "nantes"},
                             headers={"HX-Request": "true", "HX-Target": "client-results"})
    assert found.text.lstrip().startswith('<div id="client-results"')
    assert "Entreprise 05" in text_of(found.text) and "Entreprise 06" not in text_of(found.text)
    empty = text_of((await client.get("/reseller/clients", params={"q": "zzz"})).text)
    assert "Aucun client ne correspond à « zzz »" in empty


async def test_a_reseller_with_many_clients_sees_them_counted_up_to_a_cap(client):
    """A reseller may serve 40,000 companies: the list counts at most 1,000 past the page."""
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await Company.raw(
        """WITH companies AS (
               INSERT INTO company (name, street, city, postal_code, country, email, phone)
               SELECT 'Société ' || lpad(n::text, 4, '0'), '1 rue', 'Lyon', '69001', 'France',
                      'c' || n || '@example.com', '0123456789'
               FROM generate_series(1, 1030) AS n RETURNING id)
           INSERT INTO contract (number, product_reference, reseller, company, starts_on, ends_on)
           SELECT 'K' || id, 'TS-131K', {}, id, DATE '2025-01-01', DATE '2028-01-01' FROM companies""",
        reseller_id,
    )
    await sign_in(client, "agent_r1")
    first = text_of((await client.get("/reseller/clients")).text)
    assert "1–25 sur plus de 1 000" in first and "Société 0001" in first and "Suivant" in first
    last = text_of((await client.get("/reseller/clients", params={"page": 42})).text)
    assert "1 026–1 030 sur 1 030" in last and "Société 1030" in last and "Suivant" not in last
