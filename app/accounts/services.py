"""Accounts: who may sign in, how a company registers, how a forgotten password is replaced."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import asyncpg
from piccolo.columns.combination import WhereRaw

from app import audit, mail
from app.accounts import ratelimit
from app.accounts.passwords import hash_password_async, needs_rehash, password_problem, verify_password_async
from app.accounts.sessions import close_all_sessions
from app.accounts.tokens import new_token, token_hash
from app.config import settings
from app.contracts.services import claim_contract, serial_problem
from app.db.tables import Company, DeliveryAddress, User, UserToken
from app.errors import ValidationFailed
from app.validation import Validator, printable

log = logging.getLogger(__name__)

BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
RESET_LIFETIME = timedelta(hours=1)
INVITATION_LIFETIME = timedelta(hours=72)


class SignInRefused(Exception):
    """Wrong identifier or password, or an inactive account: one message for all."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def authenticate(username: str, password: str, *, ip: str) -> int:
    """The id of the active user with these credentials; raises SignInRefused or RateLimited."""
    username = printable(username).strip()
    await ratelimit.check(ratelimit.SIGN_IN_PER_ADDRESS, ip)
    if username:
        await ratelimit.check(ratelimit.SIGN_IN_PER_USERNAME, username)
    user = await User.objects().where(_same_username(username)).first() if username else None
    valid = await verify_password_async(user.password_hash if user else None, password)
    if not (user and valid and user.is_active):
        await ratelimit.hit(ratelimit.SIGN_IN_PER_ADDRESS, ip)
        if username:
            await ratelimit.hit(ratelimit.SIGN_IN_PER_USERNAME, username)
        await audit.record("sign_in_failed", ip=ip, username=username[:150])
        raise SignInRefused(BAD_CREDENTIALS)
    changes = {User.last_login_at: _now()}
    if needs_rehash(user.password_hash):  # the cost settings changed: upgrade the stored hash
        changes[User.password_hash] = await hash_password_async(password)
    await User.update(changes).where(User.id == user.id)
    await audit.record("sign_in", actor_id=user.id, ip=ip)
    return user.id


def _same_username(username: str) -> WhereRaw:
    """Usernames compare without case, through the unique index on lower(username)."""
    return WhereRaw("lower(username) = lower({})", username)


async def username_taken(username: str) -> bool:
    return await User.exists().where(_same_username(username))


async def create_user(
    *,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    role: str,
    company_id: int | None = None,
    reseller_id: int | None = None,
    phone: str = "",
    password: str | None = None,
    password_hash: str | None = None,
) -> int:
    """Insert a user; without a password the account waits for an invitation to be accepted.

    Inside a transaction, pass `password_hash` made beforehand: hashing takes 0.2 s of CPU.
    """
    try:
        rows = await User.insert(
            User(
                username=username,
                first_name=first_name,
                last_name=last_name,
                email=email,
                phone=phone,
                role=role,
                company=company_id,
                reseller=reseller_id,
                password_hash=password_hash or (await hash_password_async(password) if password else None),
            )
        ).returning(User.id)
    except asyncpg.UniqueViolationError as error:
        raise ValidationFailed({"username": "Cet identifiant est déjà utilisé."}) from error
    return rows[0]["id"]


@dataclass(frozen=True)
class Registration:
    """What the registration form asks for, checked."""

    company: dict[str, str]
    user: dict[str, str]
    password: str
    serial: str


COMPANY_FIELDS = ("name", "street", "complement", "city", "postal_code", "country", "email", "phone")


async def _check_registration(values: Mapping[str, str]) -> Registration:
    v = Validator(values)
    company = {
        "name": v.text("company_name"),
        "street": v.text("company_street"),
        "complement": v.text("company_complement", required=False),
        "city": v.text("company_city", max_length=100),
        "postal_code": v.postal_code("company_postal_code"),
        "country": v.text("company_country", max_length=100),
        "email": v.email("company_email"),
        "phone": v.phone("company_phone"),
    }
    user = {
        "first_name": v.text("first_name", max_length=100),
        "last_name": v.text("last_name", max_length=100),
        "email": v.email("email"),
        "phone": v.phone("phone", required=False),
        "username": v.username("username"),
    }
    password = values.get("password") or ""
    if not password:
        v.fail("password", "Ce champ est obligatoire.")
    elif problem := password_problem(password, username=user["username"]):
        v.fail("password", problem)
    confirm = values.get("password_confirm") or ""
    if not confirm:
        v.fail("password_confirm", "Ce champ est obligatoire.")
    elif password and password != confirm:
        v.fail("password_confirm", "Les deux mots de passe ne sont pas identiques.")
    serial = v.text("serial", max_length=64)
    if serial and "serial" not in v.errors and (problem := await serial_problem(serial)):
        v.fail("serial", problem)  # told now with the other faults; claim_contract re-checks under lock
    if user["username"] and "username" not in v.errors and await username_taken(user["username"]):
        v.fail("username", "Cet identifiant est déjà utilisé : choisissez-en un autre.")
    v.check()
    return Registration(company=company, user=user, password=password, serial=serial)


async def register(values: Mapping[str, str], *, ip: str) -> int:
    """Create the company, its administrator, its main delivery address and claim the contract.

    All in one transaction: a refusal leaves nothing behind. Returns the new user's id.
    """
    await ratelimit.hit_and_check(ratelimit.REGISTRATION_PER_ADDRESS, ip)
    form = await _check_registration(values)
    password_hash = await hash_password_async(form.password)  # before the transaction
    async with Company._meta.db.transaction():
        company_rows = await Company.insert(Company(**form.company)).returning(Company.id)
        company_id = company_rows[0]["id"]
        user_id = await create_user(
            **form.user, role="admin", company_id=company_id, password_hash=password_hash
        )
        await DeliveryAddress.insert(
            DeliveryAddress(
                company=company_id,
                label="Adresse principale",
                recipient_name=form.company["name"],
                **{k: form.company[k] for k in COMPANY_FIELDS if k != "name"},
                is_default=True,
            )
        )
        await claim_contract(company_id, user_id, form.serial, field="serial")
        await audit.record("company_registered", actor_id=user_id, object_type="company",
                           object_id=company_id, ip=ip)
    return user_id


async def issue_token(user_id: int, kind: str) -> str:
    """A new single-use link token for the user; earlier unused ones of that kind stop working."""
    lifetime = RESET_LIFETIME if kind == "reset" else INVITATION_LIFETIME
    token, now = new_token(), _now()
    await UserToken.update({UserToken.used_at: now}).where(
        (UserToken.user == user_id) & (UserToken.kind == kind) & UserToken.used_at.is_null()
    )
    await UserToken.insert(UserToken(user=user_id, kind=kind, token_hash=token_hash(token), created_at=now,
                                     expires_at=now + lifetime))
    return token


def password_link(token: str) -> str:
    return f"{settings.base_url}/password/reset/{token}"


async def request_password_reset(identifier: str, *, ip: str) -> None:
    """Mail a reset link to the account with this username or e-mail, if any; silent otherwise."""
    identifier = printable(identifier).strip()
    await ratelimit.hit_and_check(ratelimit.RESET_PER_ADDRESS, ip)
    if not identifier:
        raise ValidationFailed({"identifier": "Ce champ est obligatoire."})
    await ratelimit.hit_and_check(ratelimit.RESET_PER_IDENTIFIER, identifier)
    users = await User.objects().where(
        WhereRaw(
            "(lower(username) = lower({}) OR lower(email) = lower({})) AND is_active",
            identifier,
            identifier,
        )
    )
    for user in users:
        token = await issue_token(user.id, "reset")
        await mail.send_mail(
            user.email,
            "Réinitialisation de votre mot de passe",
            f"Bonjour {user.first_name},\n\n"
            f"Vous avez demandé à changer le mot de passe de l'identifiant « {user.username} ».\n"
            f"Choisissez-en un nouveau en ouvrant ce lien dans l'heure :\n\n{password_link(token)}\n\n"
            "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : "
            "votre mot de passe actuel reste valable.\n",
        )
        await audit.record("password_reset_requested", actor_id=user.id, ip=ip)


async def _send_notice(to: str, subject: str, body: str) -> None:
    """A notice after a change already made: failing to send it must not undo nor hide the change."""
    try:
        await mail.send_mail(to, subject, body)
    except Exception:
        log.exception("notice %r to %s not sent", subject, to)


async def send_password_changed_notice(to: str, first_name: str, username: str, *, by_reset: bool) -> None:
    """Tell the user that their password changed (ASVS V2.2.3), by a reset link or in Paramètres."""
    how = ("par un lien « Mot de passe oublié ? ». Toutes vos sessions ont été fermées." if by_reset else
           "depuis Paramètres > Profil. Vos autres sessions ont été fermées.")
    await _send_notice(
        to,
        "Votre mot de passe a été changé",
        f"Bonjour {first_name},\n\n"
        f"Le mot de passe de l'identifiant « {username} » vient d'être changé {how}\n\n"
        "Si vous n'êtes pas à l'origine de ce changement, choisissez tout de suite un nouveau mot de "
        f"passe depuis « Mot de passe oublié ? » :\n\n{settings.base_url}/password/forgot\n\n"
        "puis prévenez un administrateur de votre société.\n",
    )


async def send_email_changed_notice(old_email: str, new_email: str, first_name: str, username: str, *,
                                    by_administrator: bool = False) -> None:
    """Tell the previous address that the account's e-mail changed (ASVS V2.5.5)."""
    by = " par un administrateur de votre société" if by_administrator else ""
    await _send_notice(
        old_email,
        "Votre adresse e-mail a été changée",
        f"Bonjour {first_name},\n\n"
        f"L'adresse e-mail de l'identifiant « {username} » vient d'être changée{by} en {new_email}.\n\n"
        "Si vous n'êtes pas à l'origine de ce changement, prévenez sans attendre un administrateur "
        "de votre société : les liens « Mot de passe oublié ? » partent désormais à la nouvelle adresse.\n",
    )


@dataclass(frozen=True)
class TokenHolder:
    user_id: int
    username: str
    kind: str


async def token_holder(token: str) -> TokenHolder | None:
    """Who an unused, unexpired link token belongs to, or None."""
    rows = await UserToken.raw(
        """SELECT t.kind, u.id, u.username FROM user_token t JOIN app_user u ON u.id = t."user"
           WHERE t.token_hash = {} AND t.used_at IS NULL AND t.expires_at > now() AND u.is_active""",
        token_hash(token),
    )
    if not rows:
        return None
    return TokenHolder(user_id=rows[0]["id"], username=rows[0]["username"], kind=rows[0]["kind"])


async def choose_password(token: str, password: str, confirm: str, *, ip: str) -> int:
    """Set the password through a link token (reset or invitation); ends every session of the user.

    Returns the user's id; raises ValidationFailed (field `password`, `password_confirm` or `token`).
    The password is judged and hashed (0.2 s of CPU) before the transaction, which then re-checks
    the token under lock: no row is held while hashing, and a dead link costs no hash.
    """
    invalid = ValidationFailed({"token": "Ce lien n'est plus valable. Demandez-en un nouveau."})
    holder = await token_holder(token)
    if holder is None:
        raise invalid
    v = Validator({})
    if problem := password_problem(password, username=holder.username):
        v.fail("password", problem)
    elif password != confirm:
        v.fail("password_confirm", "Les deux mots de passe ne sont pas identiques.")
    v.check()
    password_hash = await hash_password_async(password)
    async with UserToken._meta.db.transaction():
        rows = await UserToken.raw(
            """SELECT t.id, t.kind, t."user" AS user_id, u.username, u.first_name, u.email FROM user_token t
               JOIN app_user u ON u.id = t."user"
               WHERE t.token_hash = {} AND t.used_at IS NULL AND t.expires_at > now() AND u.is_active
               FOR UPDATE OF t""",
            token_hash(token),
        )
        if not rows or rows[0]["user_id"] != holder.user_id:  # used or expired meanwhile
            raise invalid
        row = rows[0]
        await UserToken.update({UserToken.used_at: _now()}).where(UserToken.id == row["id"])
        await User.update({User.password_hash: password_hash}).where(User.id == row["user_id"])
        await close_all_sessions(row["user_id"])
        await ratelimit.forget(ratelimit.SIGN_IN_PER_USERNAME, row["username"])
        await audit.record("password_chosen", actor_id=row["user_id"], ip=ip)
    if row["kind"] == "reset":  # an invitation sets a first password: nothing changed to tell of
        await send_password_changed_notice(row["email"], row["first_name"], row["username"], by_reset=True)
    return row["user_id"]
