"""Every route of the app, from its route table, for every kind of actor against the objects of company A.

The rows of ROUTES are the app's routes, (method, path) exactly as `app.routes` spells them: a
route added without its row fails `test_every_route_is_in_the_matrix`, so none can forget its
checks. Each row gives the expected outcome of each actor; path parameters are filled with the
objects of company A (customer of reseller RA) built once for the whole matrix.

Actors:
  anonymous   not signed in
  admin_a     administrator of company A          — the owner: runs last, its writes may destroy
  basic_a     Basique user of company A
  admin_b     administrator of company B (another customer of the same reseller RA)
  agent_a     agent of RA, A's reseller
  radmin_a    administrator of RA (positive control of RA's administrator-only rows)
  agent_b     agent of reseller RB
  radmin_b    administrator of RB (so that RA's administrator-only objects are tried by someone
              who passes the role guard: they must answer 404, not the object)

Outcomes: an int is the exact status (a 3xx must not be a sign-in redirect), SIGN_IN is a
303 to /login?next=<this url> (and, for an htmx request, 200 with HX-Redirect to it), a string
"/x" is a 303 whose Location starts with "/x". 422 on a POST means "allowed": the matrix sends
empty forms (FORMS lists the exceptions), refused by validation once the guards and the tenancy
checks have passed. OPTIONS rows are derived from the path's controller guard; the SSE stream is
read through ASGI with Last-Event-ID 0, so that it replays everything its user may see.

Besides the status, every cell checks that nothing of A leaks (A's markers never appear in a
body of an actor outside A, whatever the status, nor in any 403/404 body), that every 403/404
is logged by app/web/errors.py with the user's id, and that the actors outside A and A's Basique
user changed nothing in the database. As a control, every page A's own people get shows one of
A's markers (SHOWS_NOTHING_OF_A lists the exceptions), so their absence elsewhere means something.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from litestar.routes import HTTPRoute

from app.accounts.services import create_user
from app.db.tables import Attachment, DeliveryAddress, ExtensionOffer, Incident, QuoteRequest, User
from app.incidents import wizard
from app.incidents.controllers import TABS as CUSTOMER_TABS
from app.notifications.services import notify
from app.reseller.incidents import TABS as RESELLER_TABS
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare, start
from tests.support import DEFAULT_PASSWORD, post_form, sign_in

SIGN_IN = "sign-in"
ACTORS = ("anonymous", "admin_b", "agent_b", "radmin_b", "basic_a", "agent_a", "radmin_a", "admin_a")
OUTSIDERS = ("anonymous", "admin_b", "agent_b", "radmin_b")  # nothing of A may reach them
CUSTOMERS = ("admin_a", "basic_a", "admin_b")
RESELLERS = ("agent_a", "radmin_a", "agent_b", "radmin_b")
USERNAMES = {"admin_a": "alpha_admin", "basic_a": "alpha_basic", "admin_b": "bravo_admin", "agent_a": "agent_a",
             "radmin_a": "radmin_a", "agent_b": "agent_b", "radmin_b": "radmin_b"}
STREAM = "/notifications/stream"


def everyone(outcome: object) -> dict[str, object]:
    return dict.fromkeys(ACTORS, outcome)


def signed_in(outcome: object, *, anonymous: object = SIGN_IN) -> dict[str, object]:
    return {**everyone(outcome), "anonymous": anonymous}


def customer_area(admin_a: object, basic_a: object, admin_b: object) -> dict[str, object]:
    """A customer route: the customer guard answers 404 to every reseller user."""
    return {"anonymous": SIGN_IN, "admin_a": admin_a, "basic_a": basic_a, "admin_b": admin_b,
            **dict.fromkeys(RESELLERS, 404)}


def reseller_area(agent_a: object, radmin_a: object, agent_b: object, radmin_b: object) -> dict[str, object]:
    """A /reseller route: the reseller guard answers 404 to every customer."""
    return {"anonymous": SIGN_IN, **dict.fromkeys(CUSTOMERS, 404), "agent_a": agent_a, "radmin_a": radmin_a,
            "agent_b": agent_b, "radmin_b": radmin_b}


# Customer side. "own": a page of the actor's own company; "A's": an object of company A.
OWN_PAGE = customer_area(200, 200, 200)
OWN_ADMIN_PAGE = customer_area(200, 403, 200)
OWN_ADMIN_FORM = customer_area(422, 403, 422)  # an empty form on the actor's own company
A_OBJECT = customer_area(200, 200, 404)


def a_admin_object(admin_a: object) -> dict[str, object]:
    return customer_area(admin_a, 403, 404)


# Reseller side (the four columns of the former tests/reseller/test_isolation_matrix.py, plus RA's
# administrator). LIST: the actor's own reseller's list; OBJECT: an object of RA.
LIST = reseller_area(200, 200, 200, 200)
ADMIN_ANY = reseller_area(403, 200, 403, 200)
ADMIN_FORM = reseller_area(403, 422, 403, 422)
OBJECT = reseller_area(200, 200, 404, 404)


def object_write(agent_a: object, radmin_a: object | None = None) -> dict[str, object]:
    return reseller_area(agent_a, agent_a if radmin_a is None else radmin_a, 404, 404)


def admin_object(radmin_a: object) -> dict[str, object]:
    return reseller_area(403, radmin_a, 403, 404)


HOME = {"anonymous": "/login", **dict.fromkeys(CUSTOMERS, "/contracts"), **dict.fromkeys(RESELLERS, "/reseller")}

ROUTES: dict[tuple[str, str], dict[str, object]] = {
    # Public and account pages
    ("GET", "/"): HOME,
    ("GET", "/login"): {**HOME, "anonymous": 200},
    ("POST", "/login"): everyone(422),
    ("GET", "/register"): everyone(200),
    ("POST", "/register"): everyone(422),
    ("GET", "/password/forgot"): everyone(200),
    ("POST", "/password/forgot"): everyone(422),
    ("GET", "/password/reset/{token:str}"): everyone(410),
    ("POST", "/password/reset/{token:str}"): everyone(410),
    ("GET", "/help/serial-number"): everyone(200),
    ("GET", "/healthz"): everyone(200),
    ("GET", "/static/{file_path:path}"): everyone(200),
    ("HEAD", "/static/{file_path:path}"): everyone(200),
    ("GET", "/{path:path}"): everyone(404),
    ("POST", "/logout"): everyone("/login"),  # run last for each actor
    # The bell: each user's own notifications; the one in the URL is admin_a's (basic_a has its own)
    ("GET", "/notifications"): signed_in(200),
    ("GET", "/notifications/panel"): signed_in(200),
    ("GET", "/notifications/badge"): signed_in(200),
    ("GET", STREAM): signed_in(200, anonymous=204),  # 204 stops an EventSource for good
    ("POST", "/notifications/{notification_id:int}/open"): {**signed_in(404), "admin_a": 303},
    ("POST", "/notifications/read"): signed_in(303),
    # Mes contrats
    ("GET", "/contracts"): OWN_PAGE,
    ("GET", "/contracts/{number:str}"): A_OBJECT,
    ("GET", "/contracts/activate"): OWN_ADMIN_PAGE,
    ("POST", "/contracts/activate"): OWN_ADMIN_FORM,
    # with A's offer (an unknown offer is 404 too): agent_a closed the quote, so it is asked again
    ("POST", "/contracts/{number:str}/quotes"): a_admin_object(200),
    ("GET", "/contracts/{number:str}/incidents/new"): a_admin_object(303),  # resumes the draft in progress
    ("POST", "/contracts/{number:str}/incidents"): a_admin_object(303),
    # Mes incidents: the incident, each tab, its file
    ("GET", "/incidents"): OWN_PAGE,
    ("GET", "/incidents/{number:str}"): A_OBJECT,
    ("GET", "/incidents/{number:str}/{tab:str}"): A_OBJECT,
    ("GET", "/incidents/{number:str}/messages"): A_OBJECT,
    ("GET", "/incidents/{number:str}/attachments/{attachment_id:int}"): A_OBJECT,
    ("POST", "/incidents/{number:str}/messages"): a_admin_object(303),
    ("POST", "/incidents/{number:str}/attachments"): a_admin_object(422),
    ("POST", "/incidents/{number:str}/attachments/{attachment_id:int}/delete"): a_admin_object(303),
    # The declaration wizard: a draft is seen by its author only
    ("GET", "/incidents/drafts/{draft_id:int}/{step:str}"): a_admin_object(200),
    ("POST", "/incidents/drafts/{draft_id:int}/{step:str}"): a_admin_object(422),
    ("POST", "/incidents/drafts/{draft_id:int}/submit"): a_admin_object(422),
    ("POST", "/incidents/drafts/{draft_id:int}/attachments"): a_admin_object(422),
    ("POST", "/incidents/drafts/{draft_id:int}/attachments/{attachment_id:int}/delete"): a_admin_object(303),
    # Paramètres: profile and password are everyone's own; the rest is for administrators
    ("GET", "/settings"): customer_area("/settings/profile", "/settings/profile", "/settings/profile"),
    ("GET", "/settings/profile"): OWN_PAGE,
    ("POST", "/settings/profile"): customer_area(422, 422, 422),
    ("POST", "/settings/password"): customer_area(422, 422, 422),
    ("GET", "/settings/company"): OWN_PAGE,
    ("POST", "/settings/company"): OWN_ADMIN_FORM,
    ("GET", "/settings/users"): OWN_PAGE,
    ("GET", "/settings/users/new"): OWN_ADMIN_PAGE,
    ("POST", "/settings/users"): OWN_ADMIN_FORM,
    ("GET", "/settings/users/{user_id:int}"): a_admin_object(200),
    ("POST", "/settings/users/{user_id:int}"): a_admin_object(422),
    ("POST", "/settings/users/{user_id:int}/deactivate"): a_admin_object(303),
    ("POST", "/settings/users/{user_id:int}/reactivate"): a_admin_object(303),
    ("POST", "/settings/users/{user_id:int}/invitation"): a_admin_object(422),
    ("GET", "/settings/addresses"): OWN_PAGE,
    ("GET", "/settings/addresses/new"): OWN_ADMIN_PAGE,
    ("POST", "/settings/addresses"): OWN_ADMIN_FORM,
    ("GET", "/settings/addresses/{address_id:int}"): a_admin_object(200),
    ("POST", "/settings/addresses/{address_id:int}"): a_admin_object(422),
    ("POST", "/settings/addresses/{address_id:int}/default"): a_admin_object(303),
    ("POST", "/settings/addresses/{address_id:int}/archive"): a_admin_object(303),
    # The reseller view
    ("GET", "/reseller"): reseller_area(*["/reseller/incidents"] * 4),
    ("GET", "/reseller/incidents"): LIST,
    ("GET", "/reseller/incidents/{number:str}"): OBJECT,
    ("GET", "/reseller/incidents/{number:str}/{tab:str}"): OBJECT,
    ("GET", "/reseller/incidents/{number:str}/attachments/{attachment_id:int}"): OBJECT,
    ("POST", "/reseller/incidents/{number:str}/reply"): object_write(303),
    ("POST", "/reseller/incidents/{number:str}/note"): object_write(303),
    ("POST", "/reseller/incidents/{number:str}/status"): object_write(303),  # radmin_a: unchanged, fine
    ("POST", "/reseller/incidents/{number:str}/assign"): object_write(303),  # empty: unassigned
    ("POST", "/reseller/incidents/{number:str}/attachments"): object_write(422),
    # the customer's own file: a reseller user removes only what they uploaded themselves
    ("POST", "/reseller/incidents/{number:str}/attachments/{attachment_id:int}/delete"): object_write(403),
    ("GET", "/reseller/contracts"): LIST,
    ("GET", "/reseller/contracts/{number:str}"): OBJECT,
    ("GET", "/reseller/contracts/new"): ADMIN_ANY,
    ("POST", "/reseller/contracts"): ADMIN_FORM,
    ("GET", "/reseller/contracts/{number:str}/edit"): admin_object(200),
    ("POST", "/reseller/contracts/{number:str}"): admin_object(422),
    ("GET", "/reseller/contracts/article-row"): ADMIN_ANY,
    ("GET", "/reseller/contracts/article-row/removed"): ADMIN_ANY,
    ("GET", "/reseller/contracts/import"): ADMIN_ANY,
    ("POST", "/reseller/contracts/import"): ADMIN_FORM,
    ("POST", "/reseller/contracts/import/commit"): ADMIN_FORM,
    ("GET", "/reseller/contracts/import/template.csv"): ADMIN_ANY,
    ("GET", "/reseller/clients"): LIST,
    ("GET", "/reseller/clients/{company_id:int}"): OBJECT,
    ("GET", "/reseller/clients/{company_id:int}/incidents"): OBJECT,
    ("GET", "/reseller/quotes"): LIST,
    ("GET", "/reseller/quotes/{quote_id:int}"): OBJECT,
    # agent_a answers, then closes: radmin_a, after, finds it closed (refused by the rule, not the guard)
    ("POST", "/reseller/quotes/{quote_id:int}/answer"): object_write(303, 422),
    ("POST", "/reseller/quotes/{quote_id:int}/close"): object_write(303, 422),
    ("GET", "/reseller/extensions"): LIST,
    ("GET", "/reseller/extensions/new"): ADMIN_ANY,
    ("POST", "/reseller/extensions"): ADMIN_FORM,
    ("GET", "/reseller/extensions/{offer_id:int}"): admin_object(200),
    ("POST", "/reseller/extensions/{offer_id:int}"): admin_object(422),
    ("POST", "/reseller/extensions/{offer_id:int}/retire"): admin_object(303),
    ("POST", "/reseller/extensions/{offer_id:int}/reactivate"): admin_object(303),
    ("GET", "/reseller/team"): LIST,
    ("GET", "/reseller/team/new"): ADMIN_ANY,
    ("POST", "/reseller/team"): ADMIN_FORM,
    ("GET", "/reseller/team/{user_id:int}"): admin_object(200),
    ("POST", "/reseller/team/{user_id:int}"): admin_object(422),
    ("POST", "/reseller/team/{user_id:int}/deactivate"): admin_object(303),
    ("POST", "/reseller/team/{user_id:int}/reactivate"): admin_object(303),
    ("POST", "/reseller/team/{user_id:int}/invitation"): admin_object(422),
}
# Litestar answers OPTIONS on every path itself (204, an Allow header, no body), after the guards
# of the path's controller (not those of its handlers, nor any object lookup). First match wins.
OPTIONS_BY_CONTROLLER_GUARD = (
    (r"/contracts/activate$|/incidents/drafts/", customer_area(204, 403, 204)),  # customer_admin
    (r"/contracts/\{number:str\}/incidents", everyone(204)),  # functions, not a controller
    (r"/(contracts|incidents|settings)(/|$)", customer_area(204, 204, 204)),  # customer
    (r"/reseller/contracts/import", reseller_area(403, 204, 403, 204)),  # reseller_admin
    (r"/reseller/", reseller_area(204, 204, 204, 204)),  # reseller
    (r"", everyone(204)),  # public pages, /reseller itself, the bell (guards on its handlers)
)
OPTIONS = {("OPTIONS", path): next(outcome for pattern, outcome in OPTIONS_BY_CONTROLLER_GUARD
                                   if re.match(pattern, path))
           for path in {path for _, path in ROUTES}}
MATRIX = {**ROUTES, **OPTIONS}

# Valid forms, sent instead of an empty one where the service validates before it looks the object
# up (an empty form would then meet the tenancy check only in the controller's re-render): the
# outsiders' 404 proves the write path checks too, and the owner's write happens.
FORMS = {
    ("POST", "/contracts/{number:str}/quotes"): {"offer": "{offer_id}"},
    ("POST", "/incidents/{number:str}/messages"): {"body": "Réponse du client alpha"},
    ("POST", "/reseller/incidents/{number:str}/reply"): {"body": "Réponse du revendeur"},
    ("POST", "/reseller/incidents/{number:str}/note"): {"note": "Note interne du revendeur"},
    ("POST", "/reseller/incidents/{number:str}/status"): {"status": "in_progress"},
    ("POST", "/reseller/quotes/{quote_id:int}/answer"): {"answer": "Devis : 120 euros HT"},
}

# Pages of A's own people that show nothing of A by design (forms, public pages, the badge): every
# other page or stream they get with a 200 must show one of A's markers.
SHOWS_NOTHING_OF_A = {
    ("GET", "/register"), ("GET", "/password/forgot"), ("GET", "/help/serial-number"),
    ("GET", "/notifications/badge"), ("GET", "/settings/profile"), ("GET", "/contracts/activate"),
    ("GET", "/settings/users/new"), ("GET", "/settings/addresses/new"), ("GET", "/reseller/contracts/new"),
    ("GET", "/reseller/contracts/article-row"), ("GET", "/reseller/contracts/article-row/removed"),
    ("GET", "/reseller/contracts/import"), ("GET", "/reseller/extensions/new"), ("GET", "/reseller/team/new"),
}


def app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        assert isinstance(route, HTTPRoute), f"{route.path}: a {type(route).__name__}, not in the matrix yet"
        for handler in route.route_handlers:
            found.update((method, route.path) for method in handler.http_methods)
    return found


async def test_every_route_is_in_the_matrix(app):
    assert app_routes(app) == set(MATRIX), (
        "routes without a row (or rows without a route): "
        f"{sorted(app_routes(app) ^ set(MATRIX))}")


# ---------------------------------------------------------------------------------------------
# The objects of A, and what identifies them


@dataclass
class World:
    contract: str = "A-70417"
    serial: str = "NASA70417"
    incident: str = ""
    incident_title: str = "Alimentation grillée alpha-7"
    ids: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, int | None] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def company_markers(self) -> list[str]:
        """What only company A (its users, its reseller's staff) may see."""
        return [self.contract, self.serial, self.incident, self.incident_title, "Société alpha",
                "Entrepôt Alpha Nord", "Atelier Alpha Sud", "alpha_extra", "alpha-evidence.txt", "alpha-draft.txt"]

    def markers_for(self, actor: str) -> list[str]:
        if actor == "admin_b":  # a customer of RA too: RA's name and offers are theirs to see
            return self.company_markers()
        return [*self.company_markers(), "Revendeur RA", "EXT-ALPHA", "Extension Alpha", "Membre-RA"]


async def build_world(new_client) -> World:
    """Company A with an incident (file, quote, notification), a draft (file), a second address and
    a third user; reseller RA with an offer and a second agent; company B and reseller RB."""
    world = World()
    reseller_a = await make_reseller("RA", agent="agent_a")
    reseller_b = await make_reseller("RB", agent="agent_b")
    for username, reseller_id, last_name, role in (("radmin_a", reseller_a, "RA", "admin"),
                                                   ("agent_a2", reseller_a, "Membre-RA", "agent"),
                                                   ("radmin_b", reseller_b, "RB", "admin")):
        await create_user(username=username, first_name="Zoé", last_name=last_name, role=role,
                          email=f"{username}@example.com", reseller_id=reseller_id, password=DEFAULT_PASSWORD)
    await make_contract(reseller_a, world.contract, world.serial)
    await make_contract(reseller_a, "B-80001", "NASB80001")
    await make_contract(reseller_b, "R-90001", "NASR90001")
    company_a = await make_customer("alpha", serial=world.serial)
    offer = (await ExtensionOffer.insert(ExtensionOffer(
        reseller=reseller_a, code="EXT-ALPHA", label="Extension Alpha", duration_months=24,
        product_references=["TS-131K-1TIW"])).returning(ExtensionOffer.id))[0]["id"]

    admin = new_client("198.51.100.10")
    await sign_in(admin, "alpha_admin")
    world.incident = await declare(admin, world.contract, title=world.incident_title)
    await post_form(admin, f"/contracts/{world.contract}/quotes", {"offer": str(offer)})
    upload_headers = {"x-csrftoken": admin.cookies["csrftoken"], "HX-Request": "true"}
    response = await admin.post(f"/incidents/{world.incident}/attachments", headers=upload_headers,
                                files={"file": ("alpha-evidence.txt", b"x", "text/plain")})
    assert response.status_code == 201, response.text
    draft = await start(admin, world.contract)
    response = await admin.post(f"/incidents/drafts/{draft}/attachments", headers=upload_headers,
                                files={"file": ("alpha-draft.txt", b"y", "text/plain")})
    assert response.status_code == 201, response.text
    await make_customer("bravo", serial="NASB80001")  # after the wizard: `declare` takes the first address

    incident = await Incident.objects().where(Incident.number == world.incident).first()
    for label in ("Entrepôt Alpha Nord", "Atelier Alpha Sud"):
        await DeliveryAddress.insert(DeliveryAddress(
            company=company_a.company_id, label=label, street="2 rue Test", city="Lyon",
            postal_code="69002", country="France", email="alpha@example.com", phone="0123456789"))
    extra = await create_user(username="alpha_extra", first_name="Extra", last_name="alpha", role="basic",
                              email="alpha_extra@example.com", company_id=company_a.company_id,
                              password=DEFAULT_PASSWORD)
    notification, _ = await notify([company_a.admin_id, company_a.basic_id], kind="new_status",
                                   title=f"[Nouveau statut] Incident n. {world.incident}", incident_id=incident.id)
    world.ids = {
        "incident_file": (await Attachment.objects().where(Attachment.incident == incident.id).first()).id,
        "draft_file": (await Attachment.objects().where(Attachment.incident == draft).first()).id,
        "draft_id": draft,
        "company_id": company_a.company_id,
        "quote_id": (await QuoteRequest.objects().first()).id,
        "offer_id": offer,
        "company_user": extra,
        "team_member": (await User.objects().where(User.username == "agent_a2").first()).id,
        **{key: (await DeliveryAddress.objects().where(DeliveryAddress.label == label).first()).id
           for key, label in (("address_id", "Entrepôt Alpha Nord"), ("spare_address", "Atelier Alpha Sud"))},
        "notification_id": notification,
    }
    world.clients["admin_a"] = admin
    for number, actor in enumerate(a for a in ACTORS if a != "admin_a"):
        http = new_client(f"198.51.100.{20 + number}")
        if actor != "anonymous":
            response = await sign_in(http, USERNAMES[actor])
            assert response.status_code == 303, (actor, response.text)
        world.clients[actor] = http
    world.user_ids = {actor: (await User.objects().where(User.username == USERNAMES[actor]).first()).id
                      for actor in USERNAMES} | {"anonymous": None}
    return world


def urls_of(method: str, path: str, world: World) -> list[str]:
    """The concrete URLs of a route against A's objects (several for the tab and step routes)."""
    def choices(name: str) -> list[object]:
        if name == "number":
            return [world.contract if path.startswith(("/contracts", "/reseller/contracts")) else world.incident]
        if name == "tab":
            tabs = RESELLER_TABS if path.startswith("/reseller") else [t for t in CUSTOMER_TABS if t != "messages"]
            return list(tabs)  # messages has a route of its own on the customer side
        if name == "step":  # a POST saves one of the three form steps; the others have no form
            return list(wizard.STEPS) if method != "POST" else ["declaration", "description", "address"]
        if name == "attachment_id":
            return [world.ids["draft_file" if "/drafts/" in path else "incident_file"]]
        if name == "address_id":  # archive another address than the one made default
            return [world.ids["spare_address" if path.endswith("/archive") else "address_id"]]
        if name == "user_id":
            return [world.ids["team_member" if path.startswith("/reseller") else "company_user"]]
        return [{"token": "no-such-token", "file_path": "css/app.css", "path": "no/such/page"}.get(name)
                or world.ids[name]]

    names = re.findall(r"\{(\w+):\w+\}", path)
    urls = []
    for combination in itertools.product(*(choices(name) for name in names)):
        values = iter(combination)
        urls.append(re.sub(r"\{(\w+):\w+\}", lambda _: str(next(values)), path))
    return urls


# ---------------------------------------------------------------------------------------------
# One request, and what makes a cell right


async def stream_replay(app, http: httpx.AsyncClient) -> httpx.Response:
    """GET the SSE stream straight through ASGI (httpx's ASGITransport waits for the end of a
    response, which a stream never reaches) with Last-Event-ID 0, so that it replays every
    notification of the user between two `unread` events; then disconnect."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies.jar)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": STREAM, "raw_path": STREAM.encode(), "query_string": b"",
             "root_path": "", "server": ("testserver", 80), "client": ("198.51.100.99", 40000),
             "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode()), (b"last-event-id", b"0")]}
    started: dict = {}
    body = bytearray()
    replayed, disconnected = asyncio.Event(), asyncio.Event()
    requested = False

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if body.count(b"event: unread") == 2 or not message.get("more_body"):
                replayed.set()

    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(replayed.wait(), 5)
    disconnected.set()
    await asyncio.wait_for(task, 5)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in started["headers"]]
    return httpx.Response(started["status"], headers=headers, content=bytes(body))


async def fetch(app, http: httpx.AsyncClient, method: str, url: str, form: dict[str, str] | None = None, *,
                htmx: bool = False) -> httpx.Response:
    headers = {"HX-Request": "true"} if htmx else {}
    if (method, url) == ("GET", STREAM):
        return await stream_replay(app, http)
    if method in ("GET", "HEAD", "OPTIONS"):
        return await http.request(method, url, headers=headers)
    return await post_form(http, url, form or {}, headers=headers)


def status_problem(expected: object, response: httpx.Response, url: str) -> str | None:
    status, location = response.status_code, response.headers.get("location", "")
    if expected == SIGN_IN:
        wanted = f"/login?next={quote(url, safe='')}"
        return None if (status, location) == (303, wanted) else f"{status} {location}, expected 303 {wanted}"
    if isinstance(expected, str):
        ok = status == 303 and location.startswith(expected)
        return None if ok else f"{status} {location}, expected 303 to {expected}"
    if status != expected:
        return f"{status} {location}, expected {expected}"
    if 300 <= status < 400 and location.startswith("/login"):
        return f"{status} to the sign-in page ({location}), expected {expected} signed in"
    return None


async def check_cell(app, world: World, caplog, actor: str, method: str, path: str, url: str) -> list[str]:
    http = world.clients[actor]
    expected = MATRIX[(method, path)][actor]
    form = {name: value.format(**world.ids) for name, value in FORMS.get((method, path), {}).items()}
    caplog.clear()
    response = await fetch(app, http, method, url, form)
    cell = f"{actor} {method} {url}"
    problems = []
    if problem := status_problem(expected, response, url):
        problems.append(f"{cell}: {problem}")
    status, body = response.status_code, response.text
    if (actor not in OUTSIDERS and (method, path) not in SHOWS_NOTHING_OF_A and status == 200
            and response.headers.get("content-type", "").startswith(("text/html", "text/event-stream"))
            and not any(marker in body for marker in world.markers_for(actor))):
        problems.append(f"{cell}: shows nothing of A, so its markers prove nothing elsewhere")
    if actor in OUTSIDERS or status in (403, 404):
        leaked = [marker for marker in world.markers_for(actor) if marker in body]
        if leaked:
            problems.append(f"{cell}: {status} shows A's {leaked}")
    if status in (403, 404):
        logged = [r.getMessage() for r in caplog.records if r.name == "app.web.errors"]
        if not any(m.startswith(f"{status} {method} {url} user={world.user_ids[actor]}") for m in logged):
            problems.append(f"{cell}: {status} not logged (got {logged})")
    if status == 403 and "Action non autorisée" not in body:
        problems.append(f"{cell}: 403 without its page")
    if expected == SIGN_IN:
        htmx = await fetch(app, http, method, url, form, htmx=True)
        wanted = f"/login?next={quote(url, safe='')}"
        if (htmx.status_code, htmx.headers.get("hx-redirect"), htmx.content) != (200, wanted, b""):
            problems.append(f"{cell} (htmx): {htmx.status_code} HX-Redirect={htmx.headers.get('hx-redirect')}")
    return problems


async def _snapshot(user_id: int | None) -> dict[str, str]:
    """A fingerprint of every business table (sessions, audit and rate-limit rows excluded; the
    user's own notifications too, which they may mark read)."""
    rows = await Incident.raw(
        """SELECT tablename FROM pg_tables WHERE schemaname = 'public'
           AND tablename NOT IN ('migration', 'user_session', 'audit_event', 'rate_limit_hit')""")
    fingerprint = {}
    for row in rows:
        name = row["tablename"]
        mine = f"WHERE t.recipient IS DISTINCT FROM {int(user_id or 0)}" if name == "notification" else ""
        result = await Incident.raw(f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h "
                                    f'FROM "{name}" t {mine}')
        fingerprint[name] = result[0]["h"]
    return fingerprint


SAFE = ("GET", "HEAD", "OPTIONS")
# Reads first, then writes in the table's order, signing out last (for each actor in turn).
RUN_ORDER = sorted(MATRIX, key=lambda row: (row[0] not in SAFE, row == ("POST", "/logout")))
# Who may change nothing of anyone else's (their own notifications aside): outsiders, A's Basique user.
WATCHED = (*OUTSIDERS, "basic_a")


async def test_every_route_for_every_actor(app, new_client, caplog):
    caplog.set_level(logging.INFO, logger="app.web.errors")
    world = await build_world(new_client)
    failures: list[str] = []
    cells = 0
    for actor in ACTORS:  # outsiders first, A's own people after, A's administrator last
        before = await _snapshot(world.user_ids[actor]) if actor in WATCHED else {}
        for method, path in RUN_ORDER:
            for url in urls_of(method, path, world):
                failures += await check_cell(app, world, caplog, actor, method, path, url)
                cells += 1
        if actor in WATCHED:
            after = await _snapshot(world.user_ids[actor])
            if changed := sorted(table for table, digest in after.items() if before[table] != digest):
                failures.append(f"{actor}: changed the database ({changed})")
    assert not failures, f"{len(failures)} of {cells} cells wrong:\n" + "\n".join(failures)
