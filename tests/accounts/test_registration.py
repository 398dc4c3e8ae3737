"""Création d'un nouveau compte (SPEC §3.2): company, administrator, main address and contract at once.

Every refusal comes back beside its field with the other values kept (never the passwords) and
leaves nothing in the database.
"""

from __future__ import annotations

import pytest

from app.accounts.passwords import verify_password
from app.db.tables import Company, Contract, DeliveryAddress, RateLimitHit, User, UserSession
from tests.factories import make_contract, make_customer, make_reseller
from tests.support import field_error as _field_error
from tests.support import field_value, post_form, sign_in, text_of

SERIAL = "Q207B17555"
PASSWORD = "une phrase de passe solide"
REQUIRED = "Ce champ est obligatoire."

REQUIRED_FIELDS = (
    "company_name", "company_street", "company_city", "company_postal_code", "company_country",
    "company_email", "company_phone", "first_name", "last_name", "email", "username", "password",
    "serial",
)
SECRET_FIELDS = ("password", "password_confirm")


def field_error(page: str, name: str) -> str | None:
    """The message beside a field, without the help link that follows the serial's message."""
    message = _field_error(page, name)
    if message and name == "serial":
        message = message.removesuffix("Trouver mon numéro de série").strip()
    return message


def registration(**changes: str) -> dict[str, str]:
    """A complete, acceptable registration form; `changes` replace some of its values."""
    values = {
        "company_name": "Imprimerie Dupont",
        "company_street": "12 rue de la République",
        "company_complement": "Bâtiment B",
        "company_city": "Lyon",
        "company_postal_code": "69002",
        "company_country": "France",
        "company_email": "contact@dupont.example",
        "company_phone": "04 78 00 00 00",
        "first_name": "Jeanne",
        "last_name": "Dupont",
        "email": "jeanne@dupont.example",
        "phone": "06 12 34 56 78",
        "username": "jdupont",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "serial": SERIAL,
    }
    values.update(changes)
    return values


async def _unclaimed_contract(number: str = "29962", serial: str = SERIAL) -> int:
    reseller_id = await make_reseller("R1")
    await make_contract(reseller_id, number, serial, disks=("Z9CBPM5M",))
    return reseller_id


async def assert_nothing_written(*, users_before: int = 0, number: str = "29962",
                                 companies_before: int = 0) -> None:
    """The refused registration left no company, no user, no address, and the contract unclaimed."""
    assert await Company.count() == companies_before
    assert await User.count() == users_before
    assert await DeliveryAddress.count() == companies_before
    assert await UserSession.count() == 0
    contract = await Contract.objects().where(Contract.number == number).first()
    if contract is not None and not companies_before:
        assert contract.company is None
        assert contract.activated_at is None
        assert contract.activated_by is None


def assert_values_kept(page: str, values: dict[str, str], *, except_fields: tuple[str, ...] = ()) -> None:
    """Every field typed comes back as typed, except the passwords which never come back."""
    for name, value in values.items():
        if name in SECRET_FIELDS or name in except_fields:
            continue
        assert field_value(page, name) == value, name
    for name in SECRET_FIELDS:
        if values.get(name):
            assert values[name] not in page, f"{name} echoed back"
        assert field_value(page, name) is None


# --- success -------------------------------------------------------------------------------------


async def test_registration_creates_company_admin_main_address_and_claims_the_contract(client):
    await _unclaimed_contract()
    form = registration()
    response = await post_form(client, "/register", form)

    assert response.status_code == 303
    assert response.headers["location"].split("?")[0] == "/contracts"
    assert "session" in response.cookies
    assert "httponly" in response.headers["set-cookie"].lower()

    company = await Company.objects().first()
    assert (company.name, company.street, company.complement, company.city, company.postal_code,
            company.country, company.email, company.phone) == (
        "Imprimerie Dupont", "12 rue de la République", "Bâtiment B", "Lyon", "69002", "France",
        "contact@dupont.example", "04 78 00 00 00",
    )
    user = await User.objects().first()
    assert (user.username, user.first_name, user.last_name, user.email, user.phone) == (
        "jdupont", "Jeanne", "Dupont", "jeanne@dupont.example", "06 12 34 56 78",
    )
    assert user.role == "admin"
    assert user.company == company.id
    assert user.reseller is None
    assert user.is_active
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)

    address = await DeliveryAddress.objects().first()
    assert await DeliveryAddress.count() == 1
    assert address.company == company.id
    assert address.label == "Adresse principale"
    assert address.is_default
    assert (address.recipient_name, address.street, address.complement, address.city,
            address.postal_code, address.country, address.email, address.phone) == (
        company.name, company.street, company.complement, company.city, company.postal_code,
        company.country, company.email, company.phone,
    )

    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.company == company.id
    assert contract.activated_at is not None
    assert contract.activated_by == user.id

    session = await UserSession.objects().first()
    assert await UserSession.count() == 1
    assert session.user == user.id


async def test_registered_user_is_signed_in_on_mes_contrats_with_the_contract(client):
    await _unclaimed_contract()
    response = await post_form(client, "/register", registration())
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Mes contrats" in text
    assert "29962" in text and "TS-131K-1TIW" in text and SERIAL in text
    assert "Jeanne Dupont" in text


async def test_registration_with_the_serial_typed_in_lower_case_with_spaces_still_matches(client):
    await _unclaimed_contract()
    response = await post_form(client, "/register", registration(serial="  q207 b175 55 "))
    assert response.status_code == 303
    company = await Company.objects().first()
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.company == company.id


async def test_registration_page_shows_the_three_blocks_of_the_guide(client):
    page = text_of((await client.get("/register")).text)
    for label in ("Création d'un nouveau compte", "Mon entreprise", "Mon compte utilisateur",
                  "Mon contrat de service", "N° de série du NAS", "J'ai déjà un compte",
                  "Créer mon compte", "Comment trouver mon numéro de série ?"):
        assert label in page


# --- refusals ------------------------------------------------------------------------------------


async def test_registration_with_an_unknown_serial_is_refused_and_writes_nothing(client):
    await _unclaimed_contract()
    form = registration(serial="NOPE12345")
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert field_error(response.text, "serial") == "Aucun contrat ne correspond à ce numéro de série."
    assert "session" not in response.cookies
    assert_values_kept(response.text, form)
    await assert_nothing_written()


async def test_registration_with_a_serial_claimed_by_another_company_reveals_nothing_about_it(client):
    await _unclaimed_contract()
    await make_customer("rival", serial=SERIAL)
    form = registration()
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    message = field_error(response.text, "serial")
    assert "déjà associé à un autre compte" in message
    assert message != "Aucun contrat ne correspond à ce numéro de série."
    for secret in ("Société rival", "rival_admin", "rival_basic", "rival@example.com"):
        assert secret not in response.text
    assert_values_kept(response.text, form)
    # the rival's company, its two users and its address are all that exist; the contract stays theirs
    assert await Company.count() == 1
    assert await User.count() == 2
    assert await DeliveryAddress.count() == 1
    rival = await Company.objects().first()
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.company == rival.id


async def test_registration_with_a_password_confirmation_mismatch_is_refused(client):
    await _unclaimed_contract()
    form = registration(password_confirm="une phrase de passe solidE")
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert field_error(response.text, "password_confirm") == "Les deux mots de passe ne sont pas identiques."
    assert field_error(response.text, "password") is None
    assert_values_kept(response.text, form)
    await assert_nothing_written()


@pytest.mark.parametrize("typed", ["acme_admin", "ACME_Admin"])
async def test_registration_with_a_username_already_taken_is_refused(client, typed):
    await _unclaimed_contract()
    await make_customer("acme")
    form = registration(username=typed)
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert "déjà utilisé" in field_error(response.text, "username")
    assert_values_kept(response.text, form)
    await assert_nothing_written(users_before=2, companies_before=1)
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.company is None


@pytest.mark.parametrize("weak, message", [
    ("onze lettre", "au moins 12 caractères"),
    ("password1234", "trop courant"),
    ("QWERTY123456", "trop courant"),
    ("x" * 129, "128 caractères"),
])
async def test_registration_with_a_weak_password_is_refused(client, weak, message):
    await _unclaimed_contract()
    form = registration(password=weak, password_confirm=weak)
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert message in field_error(response.text, "password")
    assert_values_kept(response.text, form)
    await assert_nothing_written()


async def test_registration_with_the_username_as_password_is_refused(client):
    await _unclaimed_contract()
    form = registration(username="jeanne.dupont69", password="Jeanne.Dupont69",
                        password_confirm="Jeanne.Dupont69")
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert "identifiant" in field_error(response.text, "password")
    await assert_nothing_written()


async def test_registration_with_every_field_empty_marks_each_required_field(client):
    await _unclaimed_contract()
    form = {name: "" for name in registration()}
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    for name in REQUIRED_FIELDS:
        assert field_error(response.text, name) == REQUIRED, name
    for optional in ("company_complement", "phone"):
        assert field_error(response.text, optional) is None, optional
    await assert_nothing_written()


async def test_registration_with_an_empty_confirmation_marks_it_required(client):
    """The confirmation is marked * on the form: left empty, it says so like every other field."""
    await _unclaimed_contract()
    form = {name: "" for name in registration()}
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert field_error(response.text, "password_confirm") == REQUIRED


async def test_registration_missing_one_required_field_keeps_everything_else(client):
    await _unclaimed_contract()
    for missing in REQUIRED_FIELDS:
        if missing in SECRET_FIELDS:
            continue
        form = registration(**{missing: ""})
        response = await post_form(client, "/register", form)
        assert response.status_code == 422, missing
        assert field_error(response.text, missing) == REQUIRED, missing
        assert_values_kept(response.text, form, except_fields=(missing,))
        await assert_nothing_written()


async def test_registration_with_optional_fields_left_empty_succeeds(client):
    await _unclaimed_contract()
    response = await post_form(client, "/register", registration(company_complement="", phone=""))
    assert response.status_code == 303
    user = await User.objects().first()
    assert user.phone == ""


@pytest.mark.parametrize("field", ["email", "company_email"])
async def test_registration_with_an_invalid_email_is_refused(client, field):
    await _unclaimed_contract()
    form = registration(**{field: "jeanne-at-dupont"})
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert field_error(response.text, field) == "Adresse e-mail invalide (exemple : nom@societe.fr)."
    assert_values_kept(response.text, form)
    await assert_nothing_written()


@pytest.mark.parametrize("field, typed, message", [
    ("company_phone", "appelez-moi", "Numéro de téléphone invalide"),
    ("phone", "12", "Numéro de téléphone invalide"),
    ("company_postal_code", "69 001 !", "Code postal invalide."),
    ("username", "jeanne dupont", "lettres sans accent"),
    ("username", "jé", "lettres sans accent"),
])
async def test_registration_with_a_malformed_value_is_refused_beside_it(client, field, typed, message):
    await _unclaimed_contract()
    form = registration(**{field: typed})
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert_values_kept(response.text, form)
    await assert_nothing_written()


async def test_registration_with_the_serial_of_a_disk_is_not_a_nas_serial(client):
    await _unclaimed_contract()  # its disk is Z9CBPM5M
    response = await post_form(client, "/register", registration(serial="Z9CBPM5M"))
    assert response.status_code == 422
    assert field_error(response.text, "serial") == "Aucun contrat ne correspond à ce numéro de série."
    await assert_nothing_written()


async def test_registration_values_are_escaped_when_kept(client):
    await _unclaimed_contract()
    form = registration(company_name='<script>alert("x")</script>', serial="NOPE")
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert '<script>alert("x")</script>' not in response.text
    assert field_value(response.text, "company_name") == '<script>alert("x")</script>'


async def test_registration_refusal_lists_how_many_fields_to_fix(client):
    await _unclaimed_contract()
    form = registration(email="nope", password_confirm="something else entirely")
    response = await post_form(client, "/register", form)
    assert "2 champs sont à corriger." in text_of(response.text)


# --- what a password may be (ASVS V2.1.1–V2.1.4) -------------------------------------------------

# 128 characters, many of them several bytes long (a hash that truncated at 72 bytes would show)
LONGEST = ("ma phrase de passe est très longue, avec des accents : ça, où, naïve, "
           "et des emoji 🔐🌞🦔 sans troncature").ljust(128, "é")
UNICODE = "Mot de passe d'été 🌞 : ça marche, n'est-ce pas ? 🔐"


async def test_registration_form_tells_twelve_characters_at_least_and_twelve_are_enough(client, new_client):
    form_page = text_of((await client.get("/register")).text)
    assert "12 caractères au moins" in form_page
    await _unclaimed_contract()
    response = await post_form(client, "/register", registration(password="douze lettre",
                                                                 password_confirm="douze lettre"))
    assert response.status_code == 303
    assert (await sign_in(new_client(), "jdupont", "douze lettre")).status_code == 303


@pytest.mark.parametrize("password", [LONGEST, UNICODE], ids=["128 characters", "emoji and accents"])
async def test_long_and_unicode_passwords_are_accepted_and_checked_whole(client, new_client, password):
    assert len(LONGEST) == 128 and len(LONGEST.encode()) > 128
    await _unclaimed_contract()
    response = await post_form(client, "/register", registration(password=password, password_confirm=password))
    assert response.status_code == 303
    assert (await sign_in(new_client(), "jdupont", password)).status_code == 303
    # no truncation: one character more, or one less, is another password
    for other in (password + "x", password[:-1]):
        refused = await sign_in(new_client(), "jdupont", other)
        assert refused.status_code == 422
        assert "Identifiant ou mot de passe incorrect." in text_of(refused.text)
    assert await UserSession.count() == 2  # the registration's and the one good sign-in


async def test_password_of_129_characters_is_refused_with_a_clear_message(client):
    await _unclaimed_contract()
    too_long = LONGEST + "!"
    form = registration(password=too_long, password_confirm=too_long)
    response = await post_form(client, "/register", form)
    assert response.status_code == 422
    assert field_error(response.text, "password") == "Le mot de passe ne peut pas dépasser 128 caractères."
    assert_values_kept(response.text, form)
    await assert_nothing_written()


# --- rate limit ----------------------------------------------------------------------------------


async def test_registration_is_rate_limited_per_address(client, new_client):
    await _unclaimed_contract()
    for attempt in range(20):  # refused early (no password hashed), but each attempt counts
        refused = await post_form(client, "/register", registration(email=f"nope{attempt}"))
        assert refused.status_code == 422, attempt
    limited = await post_form(client, "/register", registration())  # even a good form now
    assert limited.status_code == 429
    assert "Trop de demandes d'inscription" in text_of(limited.text)
    assert int(limited.headers["retry-after"]) > 0
    await assert_nothing_written()
    # another address is not affected
    other = new_client("198.51.100.30")
    assert (await post_form(other, "/register", registration())).status_code == 303
    assert await RateLimitHit.count().where(RateLimitHit.bucket == "register-ip") == 21


# --- concurrency ---------------------------------------------------------------------------------


async def test_two_registrations_racing_for_one_serial_leave_one_company_holding_it(client, new_client):
    import asyncio

    await _unclaimed_contract()
    other = new_client("198.51.100.31")
    first, second = await asyncio.gather(
        post_form(client, "/register", registration()),
        post_form(other, "/register", registration(username="mdurand", company_name="Durand SARL")),
    )
    assert sorted((first.status_code, second.status_code)) == [303, 422]
    loser = first if first.status_code == 422 else second
    assert "déjà associé à un autre compte" in field_error(loser.text, "serial")
    assert await Company.count() == 1
    assert await User.count() == 1
    assert await DeliveryAddress.count() == 1
    company = await Company.objects().first()
    contract = await Contract.objects().where(Contract.number == "29962").first()
    assert contract.company == company.id
