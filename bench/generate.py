"""COPY-based data generator at a scale factor of issue 8's volumes (1.0 = full scale).

Full scale: 2,000 resellers, 100,000 companies, 300,000 contracts, 900,000 articles, 500,000
incidents, 2,000,000 messages, 5,000,000 notifications, with skew: reseller 1 sells a third of
the contracts, a few companies (0.2 %) hold hundreds of contracts each, company 1 the most.
Every constraint of the schema holds (unique NAS serial, one NAS article per contract, incident
numbers YYMMDDNN unique with the day counters set, status CHECKs, one default address...).

Rows go in with asyncpg's `copy_records_to_table` (foreign-key triggers off for the load:
`session_replication_role = replica`, the rows are consistent by construction); the three
largest tables are generated and copied by forked worker processes in parallel. Then ANALYZE.

Every user's password is BENCH_PASSWORD (one argon2id hash, computed once and reused). The known
objects for the load test are written to BENCH_DIR/known.json.

    python -m bench.generate --scale 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import database  # noqa: E402

BENCH_PASSWORD = "bench-password-2026"
SEED = 20261127
FULL = {
    "resellers": 2_000,
    "companies": 100_000,
    "contracts": 300_000,
    "incidents": 500_000,
    "messages": 2_000_000,
    "notifications": 5_000_000,
}
MINIMUM = {"resellers": 3, "companies": 30, "contracts": 150, "incidents": 200, "messages": 600,
           "notifications": 1_500}
CHUNK = 100_000
PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc
HORIZON_DAYS = 5 * 365

MODELS = (  # (contract product reference, NAS reference, designation, brand)
    ("TS-131K-1TIW", "TS-131K", "NAS QNAP Tour TS-131K - Boitier nu - 1 baie - Adaptateur secteur", "Q"),
    ("TS-233-2G", "TS-233", "NAS QNAP TS-233 - 2 baies - 2 Go", "Q"),
    ("TS-464-8G-4T", "TS-464-8G", "NAS QNAP TS-464 - 4 baies - 8 Go", "Q"),
    ("TS-873A-8G", "TS-873A", "NAS QNAP TS-873A - 8 baies - 8 Go", "Q"),
    ("TVS-h1288X", "TVS-h1288X", "NAS QNAP TVS-h1288X - 12 baies - 16 Go", "Q"),
    ("DS224PLUS-2G", "DS224+", "NAS Synology DiskStation DS224+ - 2 baies", "S"),
    ("DS923PLUS-4G", "DS923+", "NAS Synology DiskStation DS923+ - 4 baies", "S"),
    ("DS1522PLUS-8G", "DS1522+", "NAS Synology DiskStation DS1522+ - 5 baies", "S"),
    ("RS1221PLUS-4G", "RS1221+", "NAS Synology RackStation RS1221+ - 8 baies", "S"),
    ("DS124-1G", "DS124", "NAS Synology DiskStation DS124 - 1 baie", "S"),
)
DISKS = (
    ("ST1000VN008", 'Disque dur 3,5" 1TB - 5900rpm - SATA 6Gbps - 64MB - Seagate IronWolf NAS'),
    ("ST4000VN006", 'Disque dur 3,5" 4TB - 5400rpm - SATA 6Gbps - 256MB - Seagate IronWolf NAS'),
    ("WD40EFPX", 'Disque dur 3,5" 4TB - 5400rpm - SATA 6Gbps - 256MB - WD Red Plus'),
    ("HAT5300-8T", 'Disque dur 3,5" 8TB - 7200rpm - SATA 6Gbps - Synology HAT5300'),
)
OTHERS = (("RAM-4GDR4", "Module mémoire 4 Go DDR4"), ("PWR-ADAPTER-90W", "Adaptateur secteur 90 W"))
TITLES = ("Problème avec mon NAS", "Le NAS ne démarre plus", "Disque signalé défaillant", "Bruit anormal",
          "Ventilateur bruyant", "Volume dégradé", "Alimentation HS", "Voyant d'état orange",
          "Redémarrages intempestifs", "Carte réseau muette", "Baie 2 non reconnue", "Colis endommagé")
NATURES = ("defective", "damaged", "incomplete", "other")
CITIES = (("Paris", "75011"), ("Lyon", "69003"), ("Lille", "59000"), ("Nantes", "44000"),
          ("Bordeaux", "33000"), ("Toulouse", "31000"), ("Rennes", "35000"), ("Strasbourg", "67000"))
FIRST = ("Camille", "Julien", "Sophie", "Nicolas", "Léa", "Thomas", "Chloé", "Hugo", "Manon", "Louis")
LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")
WORDS = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
         "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco "
         "laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in "
         "voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat "
         "non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ")
STATUS_SENTENCES = {
    "new": "Votre déclaration a été transmise à votre revendeur.",
    "in_progress": "Votre revendeur traite cet incident.",
    "waiting_customer": "Votre revendeur attend votre réponse.",
    "resolved": "Cet incident a été résolu.",
    "closed": "Cet incident est clos.",
}


def volumes(scale: float) -> dict[str, int]:
    return {name: max(MINIMUM[name], round(full * scale)) for name, full in FULL.items()}


@dataclass
class Plan:
    """What the worker processes need to know about the rows already decided."""

    now: float
    company_users: list[list[int]] = field(default_factory=list)   # index = company id
    reseller_staff: list[list[int]] = field(default_factory=list)  # index = reseller id
    # submitted incidents, parallel lists (index = position, not id)
    inc_id: list[int] = field(default_factory=list)
    inc_company: list[int] = field(default_factory=list)
    inc_reseller: list[int] = field(default_factory=list)
    inc_number: list[str] = field(default_factory=list)
    inc_status: list[str] = field(default_factory=list)
    inc_submitted: list[float] = field(default_factory=list)


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _serial(contract_id: int, brand: str) -> str:
    """A normalised NAS serial, unique by construction (the contract id is part of it)."""
    if brand == "Q":
        return f"Q{20 + contract_id % 6}{chr(65 + contract_id % 26)}{chr(65 + contract_id // 26 % 26)}{contract_id:07d}"
    return f"{2000 + contract_id % 97}{chr(65 + contract_id % 26)}QWR{contract_id:07d}"


async def _copy(connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    if rows:
        await connection.copy_records_to_table(table, records=rows, columns=columns)


async def _connect(url: str):
    import asyncpg

    connection = await asyncpg.connect(url)
    await connection.execute("SET session_replication_role = replica; SET synchronous_commit = off")
    return connection


# -- the parent: resellers, companies, users, contracts, articles, incidents ---------------------------

async def build(url: str, scale: float, password_hash: str, rng: random.Random) -> tuple[Plan, dict]:
    n = volumes(scale)
    now = time.time()
    plan = Plan(now=now)
    connection = await _connect(url)
    try:
        # resellers and their staff
        resellers = []
        for rid in range(1, n["resellers"] + 1):
            city, postal = CITIES[rid % len(CITIES)]
            name = "Grand Revendeur Informatique" if rid == 1 else f"Revendeur {rid:05d}"
            resellers.append((rid, f"R{rid:05d}", name, f"{rid} rue du Commerce", city, postal, "France",
                              f"contact@revendeur{rid}.example", f"01 23 45 {rid % 100:02d} 00"))
        await _copy(connection, "reseller", ["id", "code", "name", "street", "city", "postal_code", "country",
                                             "email", "phone"], resellers)
        users: list[tuple] = []
        next_user = 1

        def add_user(username: str, role: str, company: int | None, reseller: int | None) -> int:
            nonlocal next_user
            uid = next_user
            next_user += 1
            first, last = FIRST[uid % len(FIRST)], LAST[uid // 7 % len(LAST)]
            users.append((uid, company, reseller, role, first, last, f"{username}@bench.example", username,
                          password_hash, True, "fr"))
            return uid

        plan.reseller_staff = [[] for _ in range(n["resellers"] + 1)]
        known: dict = {"password": BENCH_PASSWORD, "scale": scale, "volumes": n}
        for rid in range(1, n["resellers"] + 1):
            staff_size = 20 if rid == 1 else 2
            for position in range(staff_size):
                if rid == 1 and position == 0:
                    username = "bench_reseller_admin"
                elif rid == 1 and position == 1:
                    username = "bench_agent"
                else:
                    username = f"r{rid}_{position}"
                plan.reseller_staff[rid].append(
                    add_user(username, "admin" if position == 0 else "agent", None, rid))
        known["reseller_admin"] = {"username": "bench_reseller_admin", "id": plan.reseller_staff[1][0],
                                   "reseller_id": 1}
        known["agent"] = {"username": "bench_agent", "id": plan.reseller_staff[1][1], "reseller_id": 1}

        # companies: a few big ones (hundreds of contracts), company 1 the biggest
        companies, addresses = [], []
        n_companies = n["companies"]
        plan.company_users = [[] for _ in range(n_companies + 1)]
        company_reseller = [0] * (n_companies + 1)
        for cid in range(1, n_companies + 1):
            city, postal = CITIES[cid % len(CITIES)]
            name = "Client Benchmark Industries" if cid == 1 else f"Société {cid:06d}"
            companies.append((cid, name, f"{cid % 200 + 1} avenue de la République", city, postal, "France",
                              f"contact@societe{cid}.example", f"04 72 00 {cid % 100:02d} 00"))
            addresses.append((cid, cid, "Adresse principale", f"{FIRST[cid % 10]} {LAST[cid % 10]}",
                              f"{cid % 200 + 1} avenue de la République", city, postal, "France",
                              f"contact@societe{cid}.example", f"04 72 00 {cid % 100:02d} 00", True))
            company_reseller[cid] = 1 if cid == 1 or rng.random() < 1 / 3 else rng.randint(2, n["resellers"])
        big = max(2, round(n_companies * 0.002))
        claimed = round(n["contracts"] * 0.9)
        sizes = [0] * (n_companies + 1)
        for cid in range(1, big + 1):
            sizes[cid] = rng.randint(100, 800)
        sizes[1] = 800
        budget = round(claimed * 0.2)
        if sum(sizes) > budget:
            factor = budget / sum(sizes)
            for cid in range(1, big + 1):
                sizes[cid] = max(20, round(sizes[cid] * factor))
        rest = claimed - sum(sizes)
        small = n_companies - big
        for cid in range(big + 1, n_companies + 1):
            sizes[cid] = 1
        for _ in range(max(0, rest - small)):
            sizes[rng.randint(big + 1, n_companies)] += 1
        for cid in range(1, n_companies + 1):
            count = 1 + (sizes[cid] >= 3) + (sizes[cid] >= 10) + (rng.random() < 0.3)
            if cid <= big:
                count = 8
            for position in range(count):
                if cid == 1 and position == 0:
                    username = "bench_admin"
                elif cid == 1 and position == 1:
                    username = "bench_basic"
                else:
                    username = f"c{cid}_{position}"
                plan.company_users[cid].append(
                    add_user(username, "admin" if position == 0 or position == 2 else "basic", cid, None))
        await _copy(connection, "company", ["id", "name", "street", "city", "postal_code", "country", "email",
                                            "phone"], companies)
        await _copy(connection, "delivery_address", ["id", "company", "label", "recipient_name", "street", "city",
                                                     "postal_code", "country", "email", "phone", "is_default"],
                    addresses)
        await _copy(connection, "app_user", ["id", "company", "reseller", "role", "first_name", "last_name", "email",
                                             "username", "password_hash", "is_active", "language"], users)
        known["admin"] = {"username": "bench_admin", "id": plan.company_users[1][0], "company_id": 1}
        known["basic"] = {"username": "bench_basic", "id": plan.company_users[1][1], "company_id": 1}
        known["users"] = next_user - 1
        del companies, addresses, users

        # contracts and articles
        owners = [cid for cid in range(1, n_companies + 1) for _ in range(sizes[cid])]
        rng.shuffle(owners)
        owners += [0] * (n["contracts"] - len(owners))
        rng.shuffle(owners)
        today = date.today()
        contracts, articles = [], []
        contract_company = [0] * (n["contracts"] + 1)
        contract_reseller = [0] * (n["contracts"] + 1)
        contract_nas = [0] * (n["contracts"] + 1)
        contract_articles: list[tuple[int, ...]] = [()] * (n["contracts"] + 1)
        contract_serial: list[str] = [""] * (n["contracts"] + 1)
        contract_starts = [0.0] * (n["contracts"] + 1)
        article_id = 0
        for kid in range(1, n["contracts"] + 1):
            company = owners[kid - 1]
            if company and rng.random() < 0.85:
                reseller = company_reseller[company]
            else:
                reseller = 1 if rng.random() < 1 / 3 else rng.randint(2, n["resellers"])
            reference, nas_reference, designation, brand = MODELS[rng.randrange(len(MODELS))]
            starts = today - timedelta(days=rng.randint(1, HORIZON_DAYS + 365))
            if company == 1:
                starts = today - timedelta(days=rng.randint(1, 700))
            ends = starts + timedelta(days=365 * rng.randint(1, 5))
            start_epoch = datetime(starts.year, starts.month, starts.day, 9, tzinfo=PARIS).timestamp()
            activated_by = plan.company_users[company][0] if company else None
            activated_at = _ts(start_epoch + rng.randint(0, 86_400 * 20)) if company else None
            contracts.append((kid, f"{200000 + kid}", reference, reseller, company or None, activated_at,
                              activated_by, starts, ends))
            contract_company[kid], contract_reseller[kid], contract_starts[kid] = company, reseller, start_epoch
            article_id += 1
            serial = _serial(kid, brand)
            nas_id = article_id
            ids = [nas_id]
            articles.append((nas_id, kid, designation, nas_reference, serial, "nas",
                             f"https://www.example.com/produits/{nas_reference.lower()}", "", 0))
            for position in range(1, 1 + rng.choice((1, 2, 2, 2, 3))):
                article_id += 1
                ids.append(article_id)
                if rng.random() < 0.85:
                    part, label = DISKS[rng.randrange(len(DISKS))]
                    kind = "disk"
                else:
                    part, label = OTHERS[rng.randrange(len(OTHERS))]
                    kind = "other"
                articles.append((article_id, kid, label, part, f"ZA{kid:07d}{position}", kind, "", "", position))
            contract_nas[kid], contract_articles[kid], contract_serial[kid] = nas_id, tuple(ids), serial
            if len(articles) >= CHUNK:
                await _copy(connection, "article", ["id", "contract", "designation", "product_reference",
                                                    "serial_number", "kind", "specs_url", "specs_text",
                                                    "position"], articles)
                articles = []
        await _copy(connection, "contract", ["id", "number", "product_reference", "reseller", "company",
                                             "activated_at", "activated_by", "starts_on", "ends_on"], contracts)
        await _copy(connection, "article", ["id", "contract", "designation", "product_reference", "serial_number",
                                            "kind", "specs_url", "specs_text", "position"], articles)
        known["articles"] = article_id
        del contracts, articles

        # extension offers: two per reseller, for a few models each
        offers, offer_id = [], 0
        for rid in range(1, n["resellers"] + 1):
            for months in (12, 24):
                offer_id += 1
                refs = sorted({MODELS[(rid + k) % len(MODELS)][0] for k in range(0, 10, 2)}
                              | {MODELS[(rid + k) % len(MODELS)][1] for k in range(0, 10, 2)})
                offers.append((offer_id, rid, f"CL-SV-E{months // 12}-{rid:05d}",
                               f"Extension {months // 12} an(s) au contrat - Châssis uniquement - Envoi express J+1",
                               months, json.dumps(refs), True))
        await _copy(connection, "extension_offer", ["id", "reseller", "code", "label", "duration_months",
                                                    "product_references", "is_active"], offers)

        # incidents on claimed contracts (a company with many contracts gets many incidents)
        claimed_ids = [kid for kid in range(1, n["contracts"] + 1) if contract_company[kid]]
        company1_protected = [kid for kid in claimed_ids
                              if contract_company[kid] == 1 and contracts_end_ok(kid, contract_starts, now)]
        horizon = now - HORIZON_DAYS * 86_400
        drafts = max(1, round(n["incidents"] * 0.01))
        submitted: list[tuple[float, int]] = []
        for _ in range(n["incidents"] - drafts):
            kid = claimed_ids[rng.randrange(len(claimed_ids))]
            start = max(horizon, contract_starts[kid] + 86_400)
            submitted.append((rng.uniform(start, now - 600) if start < now - 600 else now - 600, kid))
        submitted.sort()
        incidents, links, history, counters = [], [], [], {}
        link_id = history_id = 0
        for position, (when, kid) in enumerate(submitted, start=1):
            day = datetime.fromtimestamp(when, PARIS).date()
            sequence = counters.get(day, 0) + 1
            counters[day] = sequence
            number = f"{day:%y%m%d}{sequence:02d}"
            age_days = (now - when) / 86_400
            if age_days < 60:
                status = rng.choice(("new", "in_progress", "in_progress", "waiting_customer", "resolved"))
            else:
                status = "closed" if rng.random() < 0.85 else "resolved"
            company = contract_company[kid]
            reseller = contract_reseller[kid]
            staff = plan.reseller_staff[reseller]
            assignee = None if status == "new" or rng.random() < 0.2 else staff[rng.randrange(len(staff))]
            city, postal = CITIES[company % len(CITIES)]
            resolved = _ts(when + rng.uniform(3_600, min(30 * 86_400, now - when))) \
                if status in ("resolved", "closed") else None
            submitted_at = _ts(when)
            incidents.append((position, number, kid, company, reseller, plan.company_users[company][0], assignee, status,
                              f"{TITLES[position % len(TITLES)]}", NATURES[position % 4],
                              WORDS[: 120 + position % 200], "address", company, "Adresse principale",
                              f"{FIRST[company % 10]} {LAST[company % 10]}",
                              f"{company % 200 + 1} avenue de la République", city, postal, "France",
                              f"contact@societe{company}.example", "04 72 00 00 00", _ts(when - 900),
                              resolved or submitted_at, submitted_at, resolved, resolved or submitted_at))
            plan.inc_id.append(position)
            plan.inc_company.append(company)
            plan.inc_reseller.append(reseller)
            plan.inc_number.append(number)
            plan.inc_status.append(status)
            plan.inc_submitted.append(when)
            for article in contract_articles[kid][: 1 + (position % 5 == 0)]:
                link_id += 1
                links.append((link_id, position, article))
            history_id += 1
            history.append((history_id, position, None, "new", plan.company_users[company][0], submitted_at))
            if status != "new":
                history_id += 1
                history.append((history_id, position, "new", status, assignee or staff[0],
                                resolved or _ts(when + 3_600)))
        # drafts: wizards in progress (no number), one of them the upload benchmark's
        first_draft = len(submitted) + 1
        for offset in range(drafts):
            iid = first_draft + offset
            kid = company1_protected[0] if offset == 0 and company1_protected else \
                claimed_ids[rng.randrange(len(claimed_ids))]
            company = contract_company[kid]
            created = _ts(now - rng.uniform(0, 20 * 86_400)) if offset else _ts(now)
            incidents.append((iid, None, kid, company, contract_reseller[kid], plan.company_users[company][0], None, "draft",
                              "Brouillon de déclaration", "other", "", "description", None, "", "", "", "", "",
                              "", "", "", created, created, None, None, created))
            link_id += 1
            links.append((link_id, iid, contract_nas[kid]))
        await _copy(connection, "incident", [
            "id", "number", "contract", "company", "reseller", "created_by", "assignee", "status", "title", "nature",
            "description", "wizard_step", "delivery_address", "delivery_label", "delivery_recipient",
            "delivery_street", "delivery_city", "delivery_postal_code", "delivery_country", "delivery_email",
            "delivery_phone", "created_at", "updated_at", "submitted_at", "resolved_at", "last_activity_at"],
            incidents)
        await _copy(connection, "incident_article", ["id", "incident", "article"], links)
        await _copy(connection, "incident_status_change", ["id", "incident", "from_status", "to_status",
                                                           "changed_by", "changed_at"], history)
        await _copy(connection, "incident_day_counter", ["day", "last_value"], sorted(counters.items()))
        known["draft_id"] = first_draft
        known["status_changes"] = history_id

        # the known objects of the load test
        mine = [i for i in range(len(plan.inc_id)) if plan.inc_company[i] == 1]
        company1_contracts = [kid for kid in claimed_ids if contract_company[kid] == 1]
        known["company"] = {"id": 1, "contracts": len(company1_contracts), "incidents": len(mine),
                            "contract_number": f"{200000 + company1_contracts[len(company1_contracts) // 2]}"}
        known["company"]["search"] = "TS-464"
        known["incident_number"] = plan.inc_number[mine[-1]] if mine else plan.inc_number[-1]
        # a NAS serial of reseller 1 with an incident, for the queue search
        target = next(i for i in range(len(plan.inc_id) - 1, -1, -1) if plan.inc_reseller[i] == 1)
        target_contract = submitted[target][1]
        known["serial"] = contract_serial[target_contract]
        known["serial_incident"] = plan.inc_number[target]
        known["reseller_incidents"] = sum(1 for r in plan.inc_reseller if r == 1)
        known["incidents_per_status"] = {s: plan.inc_status.count(s) for s in STATUS_SENTENCES}
        del incidents, links, history, submitted
    finally:
        await connection.close()
    return plan, known


def contracts_end_ok(kid: int, starts: list[float], now: float) -> bool:
    """A contract of company 1 that is still protected: its starts_on is recent (see build)."""
    return now - starts[kid] < 300 * 86_400


# -- workers: messages and notifications, in processes of their own ---------------------------------

_PLAN: Plan | None = None


def _messages_worker(url: str, count: int, worker: int, workers: int, first_id: int) -> int:
    return asyncio.run(_messages(url, count, worker, workers, first_id))


async def _messages(url: str, count: int, worker: int, workers: int, first_id: int) -> int:
    plan = _PLAN
    rng = random.Random(SEED + 100 + worker)
    connection = await _connect(url)
    rows: list[tuple] = []
    message_id = first_id
    incidents = len(plan.inc_id)
    try:
        for _ in range(count):
            i = rng.randrange(incidents)
            company, reseller = plan.inc_company[i], plan.inc_reseller[i]
            from_reseller = rng.random() < 0.5
            if from_reseller:
                staff = plan.reseller_staff[reseller]
                author = staff[rng.randrange(len(staff))]
                visibility = "internal" if rng.random() < 0.2 else "public"
            else:
                author = plan.company_users[company][0]
                visibility = "public"
            start = plan.inc_submitted[i]
            when = rng.uniform(start, min(plan.now, start + 30 * 86_400))
            offset = rng.randrange(300)
            rows.append((message_id, plan.inc_id[i], author, WORDS[offset: offset + 60 + rng.randrange(200)],
                         visibility, _ts(when)))
            message_id += 1
            if len(rows) >= CHUNK:
                await _copy(connection, "message", ["id", "incident", "author", "body", "visibility", "created_at"],
                            rows)
                rows = []
        await _copy(connection, "message", ["id", "incident", "author", "body", "visibility", "created_at"], rows)
    finally:
        await connection.close()
    return count


def _notifications_worker(url: str, count: int, worker: int, workers: int, first_id: int) -> int:
    return asyncio.run(_notifications(url, count, worker, first_id))


async def _notifications(url: str, count: int, worker: int, first_id: int) -> int:
    plan = _PLAN
    rng = random.Random(SEED + 200 + worker)
    connection = await _connect(url)
    rows: list[tuple] = []
    notification_id = first_id
    incidents = len(plan.inc_id)
    columns = ["id", "recipient", "incident", "kind", "title", "body", "created_at", "read_at"]
    try:
        for _ in range(count):
            i = rng.randrange(incidents)
            number = plan.inc_number[i]
            start = plan.inc_submitted[i]
            when = rng.uniform(start, min(plan.now, start + 30 * 86_400))
            if rng.random() < 0.55:
                users = plan.company_users[plan.inc_company[i]]
                recipient = users[rng.randrange(len(users))]
                if rng.random() < 0.6:
                    kind, title, body = "new_message", f"[Nouveau message] Incident n. {number}", WORDS[:90]
                else:
                    status = plan.inc_status[i]
                    kind, title, body = "new_status", f"[Nouveau statut] Incident n. {number}", \
                        STATUS_SENTENCES[status]
            else:
                staff = plan.reseller_staff[plan.inc_reseller[i]]
                recipient = staff[rng.randrange(len(staff))]
                if rng.random() < 0.5:
                    kind, title, body = "new_incident", f"[Nouvel incident] Incident n. {number}", TITLES[i % 12]
                else:
                    kind, title, body = "new_message", f"[Nouveau message] Incident n. {number}", WORDS[:90]
            recent = plan.now - when < 30 * 86_400
            read = rng.random() < (0.4 if recent else 0.97)
            rows.append((notification_id, recipient, plan.inc_id[i], kind, title, body, _ts(when),
                         _ts(min(plan.now, when + rng.uniform(60, 5 * 86_400))) if read else None))
            notification_id += 1
            if len(rows) >= CHUNK:
                await _copy(connection, "notification", columns, rows)
                rows = []
        await _copy(connection, "notification", columns, rows)
    finally:
        await connection.close()
    return count


def _run_workers(url: str, n: dict[str, int]) -> None:
    """Messages and notifications in parallel processes (forked: they share the plan)."""
    context = multiprocessing.get_context("fork")
    jobs = []
    workers = max(2, min(4, (os.cpu_count() or 2)))
    with context.Pool(workers) as pool:
        for kind, target, total in (("messages", _messages_worker, n["messages"]),
                                    ("notifications", _notifications_worker, n["notifications"])):
            per = -(-total // workers) if total > 200_000 else total
            parts = [per] * (total // per) + ([total % per] if total % per else [])
            first = 1
            for index, part in enumerate(parts):
                jobs.append(pool.apply_async(target, (url, part, index, len(parts), first)))
                first += part
        for job in jobs:
            job.get()


# -- after the load -----------------------------------------------------------------------------------

SEQUENCES = ("reseller", "company", "delivery_address", "app_user", "contract", "article", "extension_offer",
             "incident", "incident_article", "incident_status_change", "message", "notification")


async def finish(url: str) -> dict[str, int]:
    connection = await _connect(url)
    try:
        for table in SEQUENCES:
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce((SELECT max(id) FROM {table}), 1))")
        await connection.execute("SET session_replication_role = DEFAULT")
        # what the triggers (off during the load) would have written
        await connection.execute("UPDATE contract SET search_text = contract_search_text(id, number, product_reference)")
        await connection.execute("VACUUM (ANALYZE)")
        counts = {}
        for table in SEQUENCES:
            counts[table] = await connection.fetchval(f"SELECT count(*) FROM {table}")
        counts["database_bytes"] = await connection.fetchval("SELECT pg_database_size(current_database())")
        return counts
    finally:
        await connection.close()


async def check_constraints(url: str) -> None:
    """A few cheap checks that the load respected what the triggers would have checked."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        orphans = await connection.fetchval(
            "SELECT count(*) FROM incident i LEFT JOIN contract c ON c.id = i.contract WHERE c.id IS NULL")
        wrong_company = await connection.fetchval(
            "SELECT count(*) FROM incident i JOIN contract c ON c.id = i.contract "
            "WHERE c.company <> i.company OR c.reseller <> i.reseller")
        nas = await connection.fetchval(
            "SELECT count(*) FROM contract c WHERE NOT EXISTS "
            "(SELECT 1 FROM article a WHERE a.contract = c.id AND a.kind = 'nas')")
        if orphans or wrong_company or nas:
            raise RuntimeError(f"inconsistent data: {orphans} orphan incidents, {wrong_company} on another "
                               f"company's or reseller's contract, {nas} contracts without NAS")
    finally:
        await connection.close()


def generate(scale: float) -> dict:
    """Recreate the benchmark database at `scale`, migrate it, fill it; returns the known objects."""
    global _PLAN
    started = time.perf_counter()
    url = asyncio.run(database.recreate_database())
    os.environ["DATABASE_URL"] = url
    from app.accounts.passwords import hash_password
    from app.db.migrate import migrate

    asyncio.run(migrate())
    password_hash = hash_password(BENCH_PASSWORD)
    rng = random.Random(SEED)
    plan, known = asyncio.run(build(url, scale, password_hash, rng))
    built = time.perf_counter()
    _PLAN = plan
    _run_workers(url, volumes(scale))
    copied = time.perf_counter()
    counts = asyncio.run(finish(url))
    asyncio.run(check_constraints(url))
    finished = time.perf_counter()
    known.update(database_url=url, rows=counts, seconds={
        "plan_and_core_tables": round(built - started, 1), "messages_and_notifications": round(copied - built, 1),
        "vacuum_analyze": round(finished - copied, 1), "total": round(finished - started, 1)})
    database.BENCH_DIR.mkdir(parents=True, exist_ok=True)
    (database.BENCH_DIR / "known.json").write_text(json.dumps(known, indent=2, default=str))
    return known


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "0.05")))
    args = parser.parse_args()
    known = generate(args.scale)
    print(json.dumps({k: v for k, v in known.items() if k != "password"}, indent=2, default=str))
    database.stop_embedded()


if __name__ == "__main__":
    main()
