"""The guide's demo data: company Client Test, contract 29962, incident 20122301, a demo reseller.

Loaded by `litestar demo load` (and by `make run` into an empty database). The demo passwords
exist only here; tests build their own data and never depend on this.
"""

from __future__ import annotations

from datetime import date, datetime

from app.accounts.services import create_user
from app.db.tables import (
    Article,
    Attachment,
    Company,
    Contract,
    DeliveryAddress,
    ExtensionOffer,
    Incident,
    IncidentArticle,
    IncidentDayCounter,
    IncidentStatusChange,
    Message,
    Notification,
    Reseller,
)
from app.incidents.attachments import MemoryUpload, store_upload
from app.web.formatting import PARIS

NAS_DESIGNATION = "NAS QNAP Tour TS-131K - Boitier nu - 1 baie - Adaptateur secteur"
DISK_DESIGNATION = 'Disque dur 3,5" 1TB - 5900rpm - SATA 6Gbps - 64MB - Seagate IronWolf NAS'
OFFER_LABEL = (
    "Extension 2 ans au contrat SQP CL-SV-E3TS131K - Chassis uniquement - Envoi express J+1 "
    "- Appel avant 16H - 2 ans"
)
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
    "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in "
    "voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat "
    "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum."
)

# (number, product reference, NAS designation, NAS reference, NAS serial, starts, ends)
UNCLAIMED = (
    ("30101", "TS-233-2G", "NAS QNAP TS-233 - 2 baies - 2 Go", "TS-233", "Q22AC01234",
     date(2025, 3, 1), date(2028, 3, 1)),
    ("30102", "DS224PLUS-2G", "NAS Synology DiskStation DS224+ - 2 baies", "DS224+", "2190QWR123456",
     date(2025, 6, 15), date(2028, 6, 15)),
    ("30103", "TS-464-8G-4T", "NAS QNAP TS-464 - 4 baies - 8 Go", "TS-464-8G", "Q23BD04567",
     date(2026, 1, 10), date(2029, 1, 10)),
)


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


async def _contract(number, reference, reseller_id, starts, ends, company_id=None, activated_by=None,
                    activated_at=None) -> int:
    rows = await Contract.insert(Contract(
        number=number, product_reference=reference, reseller=reseller_id, company=company_id,
        activated_by=activated_by, activated_at=activated_at, starts_on=starts, ends_on=ends,
    )).returning(Contract.id)
    return rows[0]["id"]


async def _article(contract_id, kind, designation, reference, serial, position, specs_url="",
                   specs_text="") -> int:
    rows = await Article.insert(Article(
        contract=contract_id, kind=kind, designation=designation, product_reference=reference,
        serial_number=serial, position=position, specs_url=specs_url, specs_text=specs_text,
    )).returning(Article.id)
    return rows[0]["id"]


async def load_demo() -> bool:
    """Load the demo data in one transaction; False (and nothing written) when already there."""
    if await Reseller.exists().where(Reseller.code == "DEMO"):
        return False
    async with Reseller._meta.db.transaction():
        await _load()
    return True


async def _load() -> None:
    reseller_id = (await Reseller.insert(Reseller(
        code="DEMO", name="NAS Services Démo", street="12 avenue des Serveurs", city="Villeurbanne",
        postal_code="69100", country="France", email="support@nas-services-demo.fr",
        phone="04 72 00 00 00",
    )).returning(Reseller.id))[0]["id"]
    reseller_admin = await create_user(
        username="revendeur_demo", first_name="Romain", last_name="Revendeur",
        email="revendeur_demo@nas-services-demo.fr", role="admin", reseller_id=reseller_id,
        password="demo-revendeur",
    )
    company_id = (await Company.insert(Company(
        name="Client Test", street="123 rue des tests", city="Lyon", postal_code="69001",
        country="France", email="client_test@sqp.fr", phone="0123456789",
    )).returning(Company.id))[0]["id"]
    admin = await create_user(
        username="client_test", first_name="Client", last_name="Test", email="client_test@sqp.fr",
        phone="0123456789", role="admin", company_id=company_id, password="demo-client-test",
    )
    basic = await create_user(
        username="cliente_testeuse", first_name="Cliente", last_name="Testeuse",
        email="cliente_testeuse@sqp.fr", role="basic", company_id=company_id,
        password="demo-cliente-testeuse",
    )
    address_id = (await DeliveryAddress.insert(DeliveryAddress(
        company=company_id, label="Adresse principale", recipient_name="Client Test",
        street="123 rue des tests", city="Lyon", postal_code="69001", country="France",
        email="client_test@sqp.fr", phone="0123456789", is_default=True,
    )).returning(DeliveryAddress.id))[0]["id"]

    contract_id = await _contract("29962", "TS-131K-1TIW", reseller_id, date(2022, 12, 9),
                                  date(2027, 12, 9), company_id, admin, _paris(2020, 12, 10, 9, 30))
    nas = await _article(contract_id, "nas", NAS_DESIGNATION, "TS-131K", "Q207B17555", 0,
                         specs_url="https://www.qnap.com/fr-fr/product/ts-131k/specs/hardware")
    disk = await _article(contract_id, "disk", DISK_DESIGNATION, "ST1000VN002", "Z9CBPM5M", 1,
                          specs_text="Capacité 1 To, 5900 tr/min, cache 64 Mo, SATA 6 Gb/s, "
                                     "conçu pour un fonctionnement 24h/24 en NAS.")
    await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_id, code="CL-SV-E3TS131K", label=OFFER_LABEL, duration_months=24,
        product_references=["TS-131K-1TIW", "TS-131K"],
    ))

    expired_id = await _contract("27450", "TS-231P-2G", reseller_id, date(2020, 5, 14),
                                 date(2023, 5, 14), company_id, admin, _paris(2020, 6, 2, 14, 0))
    await _article(expired_id, "nas", "NAS QNAP TS-231P - 2 baies - 2 Go", "TS-231P", "Q18AC09876", 0)
    for number, reference, designation, nas_reference, serial, starts, ends in UNCLAIMED:
        unclaimed_id = await _contract(number, reference, reseller_id, starts, ends)
        await _article(unclaimed_id, "nas", designation, nas_reference, serial, 0)

    await _demo_incident(contract_id, company_id, reseller_id, admin, basic, reseller_admin, address_id, nas, disk)


async def _demo_incident(contract_id, company_id, reseller_id, admin, basic, reseller_admin, address_id,
                         nas, disk) -> None:
    submitted, answered, resolved = (_paris(2020, 12, 23, 9, 12), _paris(2020, 12, 23, 11, 40),
                                     _paris(2020, 12, 23, 18, 27))
    incident_id = (await Incident.insert(Incident(
        number="20122301", contract=contract_id, company=company_id, reseller=reseller_id, created_by=admin,
        status="resolved", title="Problème avec mon NAS", nature="defective", description=LOREM,
        wizard_step="done", delivery_address=address_id, delivery_label="Adresse principale",
        delivery_recipient="Client Test", delivery_street="123 rue des tests", delivery_city="Lyon",
        delivery_postal_code="69001", delivery_country="France", delivery_email="client_test@sqp.fr",
        delivery_phone="0123456789", created_at=submitted, updated_at=resolved,
        submitted_at=submitted, resolved_at=resolved, last_activity_at=resolved,
    )).returning(Incident.id))[0]["id"]
    await IncidentDayCounter.insert(IncidentDayCounter(day=date(2020, 12, 23), last_value=1))
    await IncidentArticle.insert(IncidentArticle(incident=incident_id, article=nas),
                                 IncidentArticle(incident=incident_id, article=disk))
    await IncidentStatusChange.insert(
        IncidentStatusChange(incident=incident_id, from_status=None, to_status="new",
                             changed_by=admin, changed_at=submitted),
        IncidentStatusChange(incident=incident_id, from_status="new", to_status="in_progress",
                             changed_by=reseller_admin, changed_at=answered),
        IncidentStatusChange(incident=incident_id, from_status="in_progress", to_status="resolved",
                             changed_by=reseller_admin, changed_at=resolved),
    )
    first = (await Message.insert(Message(
        incident=incident_id, author=admin, created_at=submitted,
        body="Le NAS ne démarre plus depuis ce matin : la LED d'état clignote en rouge. "
             "Le journal système est joint.",
    )).returning(Message.id))[0]["id"]
    await Message.insert(
        Message(incident=incident_id, author=reseller_admin, created_at=answered,
                body="Bonjour, merci pour le journal. Nous vous expédions un châssis de remplacement "
                     "en express à votre adresse principale."),
        Message(incident=incident_id, author=reseller_admin, created_at=resolved,
                body="Le châssis de remplacement a été livré ; nous clôturons l'incident."),
        Message(incident=incident_id, author=reseller_admin, created_at=answered, visibility="internal",
                body="Châssis prélevé sur le stock de Villeurbanne, RMA fournisseur à ouvrir."),
    )
    content = (b"2020-12-23 08:57:02 [System] Power button pressed\n"
               b"2020-12-23 08:57:40 [Hardware] System fan failure detected\n"
               b"2020-12-23 08:58:11 [Hardware] System shut down: temperature too high\n")
    stored = await store_upload(MemoryUpload("document.txt", content))
    await Attachment.insert(Attachment(
        incident=incident_id, message=first, original_name=stored.original_name,
        stored_name=stored.stored_name, content_type=stored.content_type, size=stored.size,
        sha256=stored.sha256, uploaded_by=admin, uploaded_at=submitted,
    ))
    await Notification.insert(*[
        Notification(recipient=user, incident=incident_id, kind="new_status",
                     title="[Nouveau statut] Incident n. 20122301", body="Cet incident a été résolu.",
                     created_at=resolved)
        for user in (admin, basic)
    ])
