"""The operator's command line, run as the operator runs it: `.venv/bin/litestar <group> <command>`.

The subprocess inherits os.environ, which points at the test database and the test VAR_DIR.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from datetime import date
from pathlib import Path

from app.db.tables import (
    Article,
    Attachment,
    Company,
    Contract,
    DeliveryAddress,
    ExtensionOffer,
    Incident,
    IncidentArticle,
    Message,
    Notification,
    Reseller,
    User,
    UserToken,
)
from tests.factories import HEADER, make_reseller
from tests.support import post_form, sign_in, text_of

ROOT = Path(__file__).resolve().parent.parent
LITESTAR = ROOT / ".venv" / "bin" / "litestar"


async def litestar(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `litestar ARGS` from the repository root, without blocking the event loop."""
    return await asyncio.to_thread(
        subprocess.run, [str(LITESTAR), *args], cwd=ROOT, env=os.environ.copy(),
        capture_output=True, text=True, timeout=120,
    )


# --- litestar resellers create ---------------------------------------------------------------------


async def test_resellers_create_prints_a_one_time_link_that_lets_the_admin_choose_a_password(client):
    result = await litestar("resellers", "create", "--code", "nord", "--name", "NAS Services Nord",
                            "--email", "contact@nord.example", "--admin-username", "admin_nord",
                            "--admin-email", "admin@nord.example")
    assert result.returncode == 0, result.stderr
    match = re.search(r"http://testserver(/password/reset/[A-Za-z0-9_\-]+)", result.stdout)
    assert match, result.stdout

    reseller = await Reseller.objects().first()
    assert (reseller.code, reseller.name, reseller.email) == (
        "NORD", "NAS Services Nord", "contact@nord.example")
    admin = await User.objects().first()
    assert (admin.username, admin.email, admin.role) == ("admin_nord", "admin@nord.example", "admin")
    assert admin.reseller == reseller.id and admin.company is None
    assert admin.password_hash is None  # no password until the link is used
    token = await UserToken.objects().first()
    assert token.kind == "invitation"
    assert match.group(1).rsplit("/", 1)[1] not in token.token_hash

    path = match.group(1)
    page = await client.get(path)
    assert page.status_code == 200
    assert "choisissez votre mot de passe" in text_of(page.text)
    assert "admin_nord" in text_of(page.text)
    chosen = await post_form(client, path, {"password": "le revendeur du nord", "password_confirm":
                                            "le revendeur du nord"})
    assert chosen.status_code == 303
    assert (await sign_in(client, "admin_nord", "le revendeur du nord")).status_code == 303
    assert (await client.get("/")).headers["location"] == "/reseller"
    # one time only
    assert (await client.get(path)).status_code == 410


async def test_resellers_create_refuses_a_code_already_taken(client):
    await make_reseller("NORD")
    result = await litestar("resellers", "create", "--code", "nord", "--name", "Autre",
                            "--email", "autre@example.com", "--admin-username", "autre_admin",
                            "--admin-email", "autre@example.com")
    assert result.returncode == 1
    assert "NORD existe déjà" in result.stderr
    assert await Reseller.count() == 1
    assert await User.count() == 0


async def test_resellers_create_refuses_bad_values_one_message_each(client):
    result = await litestar("resellers", "create", "--code", "X1", "--name", "X",
                            "--email", "not-an-email", "--admin-username", "a b",
                            "--admin-email", "admin@x.example")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("email:") for line in lines), result.stderr
    assert any(line.startswith("admin_username:") for line in lines), result.stderr
    assert await Reseller.count() == 0


# --- litestar contracts import ---------------------------------------------------------------------


async def test_contracts_import_writes_the_contracts_and_exits_zero(tmp_path):
    reseller_id = await make_reseller("R1")
    file = tmp_path / "contrats.csv"
    file.write_text(HEADER
                    + "29962,TS-131K-1TIW,2024-01-15,09/12/2027,nas,NAS QNAP TS-131K,TS-131K,q207b17555,\n"
                    + "29962,TS-131K-1TIW,2024-01-15,09/12/2027,disk,Disque 1 To,ST1000VN002,Z9CBPM5M,\n"
                    + "30101,TS-233-2G,2025-03-01,2028-03-01,nas,NAS QNAP TS-233,TS-233,Q22AC01234,\n",
                    encoding="utf-8")
    result = await litestar("contracts", "import", str(file), "--reseller", "r1")
    assert result.returncode == 0, result.stderr
    assert "2 contract(s) imported." in result.stdout
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.reseller == reseller_id
    assert contract.ends_on == date(2027, 12, 9)
    assert await Article.count() == 3
    assert await Article.exists().where(Article.serial_number == "Q207B17555")


async def test_contracts_import_refuses_a_bad_file_with_one_message_per_bad_line(tmp_path):
    await make_reseller("R1")
    file = tmp_path / "contrats.csv"
    file.write_text(HEADER
                    + "29962,TS-131K-1TIW,2024-01-15,2027-12-09,nas,NAS,TS-131K,Q207B17555,\n"
                    + "30101,TS-233-2G,2025-03-01,demain,nas,NAS,TS-233,Q22AC01234,\n"
                    + "30102,TS-233-2G,2025-03-01,2028-03-01,floppy,NAS,TS-233,Q22AC05678,\n",
                    encoding="utf-8")
    result = await litestar("contracts", "import", str(file), "--reseller", "R1")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    for expected in ("ligne 3, colonne ends_on : date invalide « demain »",
                     "ligne 4, colonne article_kind : « floppy »"):
        assert any(line.startswith(expected) for line in lines), lines
    assert not any(line.startswith("ligne 2") for line in lines)
    assert "Nothing imported" in result.stderr
    assert "imported." not in result.stdout
    assert await Contract.count() == 0
    assert await Article.count() == 0


async def test_contracts_import_for_an_unknown_reseller_exits_one(tmp_path):
    file = tmp_path / "contrats.csv"
    file.write_text(HEADER + "1,P,2024-01-01,2026-01-01,nas,NAS,P,S1,\n", encoding="utf-8")
    result = await litestar("contracts", "import", str(file), "--reseller", "NOBODY")
    assert result.returncode == 1
    assert "NOBODY" in result.stderr
    assert await Contract.count() == 0


async def test_contracts_import_of_a_file_not_in_utf8_exits_one(tmp_path):
    await make_reseller("R1")
    file = tmp_path / "contrats.csv"
    file.write_bytes((HEADER + "1,P,2024-01-01,2026-01-01,nas,Boîtier,P,S1,\n").encode("latin-1"))
    result = await litestar("contracts", "import", str(file), "--reseller", "R1")
    assert result.returncode == 1
    assert "UTF-8" in result.stderr
    assert await Contract.count() == 0


# --- litestar demo load ----------------------------------------------------------------------------


async def test_demo_load_loads_the_guide_data_once(client, new_client):
    from app.config import settings

    result = await litestar("demo", "load")
    assert result.returncode == 0, result.stderr

    # the reseller and its administrator
    reseller = await Reseller.objects().where(Reseller.code == "DEMO").first()
    assert reseller.name == "NAS Services Démo"
    # Client Test and its two users
    company = await Company.objects().where(Company.name == "Client Test").first()
    assert (company.street, company.postal_code, company.city, company.country, company.phone,
            company.email) == ("123 rue des tests", "69001", "Lyon", "France", "0123456789",
                               "client_test@sqp.fr")
    users = {u.username: u for u in await User.objects()}
    admin, basic, agent = users["client_test"], users["cliente_testeuse"], users["revendeur_demo"]
    assert (admin.role, admin.company) == ("admin", company.id)
    assert (basic.role, basic.company) == ("basic", company.id)
    assert (basic.first_name, basic.last_name) == ("Cliente", "Testeuse")
    assert (agent.role, agent.reseller) == ("admin", reseller.id)
    address = await DeliveryAddress.objects().where(DeliveryAddress.company == company.id).first()
    assert address.label == "Adresse principale"

    # contract 29962 with the guide's two articles and its extension offer
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.product_reference == "TS-131K-1TIW"
    assert contract.ends_on == date(2027, 12, 9)
    assert contract.company == company.id and contract.reseller == reseller.id
    articles = await Article.objects().where(Article.contract == contract.id).order_by(Article.position)
    assert [(a.kind, a.product_reference, a.serial_number) for a in articles] == [
        ("nas", "TS-131K", "Q207B17555"), ("disk", "ST1000VN002", "Z9CBPM5M")]
    assert articles[0].designation == "NAS QNAP Tour TS-131K - Boitier nu - 1 baie - Adaptateur secteur"
    assert articles[1].designation == ('Disque dur 3,5" 1TB - 5900rpm - SATA 6Gbps - 64MB - '
                                       "Seagate IronWolf NAS")
    offer = await ExtensionOffer.objects().where(ExtensionOffer.code == "CL-SV-E3TS131K").first()
    assert offer.label.startswith("Extension 2 ans au contrat SQP CL-SV-E3TS131K - Chassis uniquement")
    assert "TS-131K-1TIW" in offer.product_references

    # incident 20122301, resolved, both articles, with document.txt on disk and its notification
    incident = await Incident.objects().where(Incident.number == "20122301").first()
    assert (incident.title, incident.nature, incident.status) == ("Problème avec mon NAS", "defective",
                                                                  "resolved")
    assert incident.contract == contract.id and incident.company == company.id
    assert {row["article"] for row in await IncidentArticle.select(IncidentArticle.article).where(
        IncidentArticle.incident == incident.id)} == {a.id for a in articles}
    assert await Message.count().where(Message.incident == incident.id) >= 2
    attachment = await Attachment.objects().where(Attachment.incident == incident.id).first()
    assert attachment.original_name == "document.txt"
    stored = settings.attachments_dir / attachment.stored_name
    assert stored.is_file()
    assert stored.stat().st_size == attachment.size
    notification = await Notification.objects().where(
        (Notification.recipient == users["client_test"].id) & (Notification.incident == incident.id)
    ).first()
    assert notification.kind == "new_status"
    assert notification.title.startswith("[Nouveau statut]")
    assert notification.read_at is None

    # three unclaimed contracts and one expired contract of Client Test
    unclaimed = await Contract.objects().where(Contract.company.is_null())
    assert len(unclaimed) == 3
    for row in unclaimed:
        assert await Article.exists().where((Article.contract == row.id) & (Article.kind == "nas"))
    expired = await Contract.objects().where(
        (Contract.company == company.id) & (Contract.ends_on < date.today()))
    assert len(expired) == 1

    # the demo accounts sign in over HTTP with the passwords
    assert (await sign_in(client, "client_test", "demo-client-test")).status_code == 303
    page = text_of((await client.get("/contracts")).text)
    assert "29962" in page and "TS-131K-1TIW" in page and "09/12/2027" in page
    assert (await sign_in(new_client("198.51.100.50"), "cliente_testeuse",
                          "demo-cliente-testeuse")).status_code == 303
    reseller_browser = new_client("198.51.100.51")
    assert (await sign_in(reseller_browser, "revendeur_demo", "demo-revendeur")).status_code == 303

    # running it again changes nothing
    counts = {table.__name__: await table.count() for table in (
        Reseller, Company, User, Contract, Article, Incident, Message, Attachment, Notification,
        ExtensionOffer, DeliveryAddress)}
    files = sorted(p.name for p in settings.attachments_dir.iterdir())
    again = await litestar("demo", "load")
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert counts == {table.__name__: await table.count() for table in (
        Reseller, Company, User, Contract, Article, Incident, Message, Attachment, Notification,
        ExtensionOffer, DeliveryAddress)}
    assert files == sorted(p.name for p in settings.attachments_dir.iterdir())
