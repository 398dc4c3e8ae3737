"""Paramètres: what a customer may change about themselves, their company, its users and addresses.

Roles are enforced here as well as by the routes' guards: only an administrator writes anything
but their own profile and password; the last active administrator can be neither demoted nor
deactivated (checked under a lock on the company, so two admins cannot demote each other at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from app import audit
from app.accounts.passwords import hash_password_async, password_problem, verify_password_async
from app.accounts.services import send_email_changed_notice, send_password_changed_notice, username_taken
from app.accounts.sessions import CurrentUser, close_all_sessions
from app.db.tables import Company, DeliveryAddress, User
from app.errors import Forbidden, NotFound, ValidationFailed
from app.settings import team
from app.validation import Validator, check_address

ROLE_LABELS = team.COMPANY_ROLES
LAST_ADMIN = team.COMPANY_LAST_ADMIN
WRONG_PASSWORD = "Mot de passe actuel incorrect."


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _require_admin(user: CurrentUser) -> None:
    if not (user.is_customer and user.is_admin):
        raise Forbidden()


# -- Profil -----------------------------------------------------------------------------------

async def profile(user: CurrentUser) -> dict:
    return await User.select(User.first_name, User.last_name, User.email, User.phone, User.username).where(
        User.id == user.id).first()


async def update_profile(user: CurrentUser, values: Mapping[str, str]) -> None:
    """Prénom, Nom, Email, Téléphone, Identifiant; a new e-mail asks for the current password."""
    v = Validator(values)
    changes = {
        User.first_name: v.text("first_name", max_length=100),
        User.last_name: v.text("last_name", max_length=100),
        User.email: v.email("email"),
        User.phone: v.phone("phone", required=False),
        User.username: v.username("username"),
    }
    current = await User.objects().where(User.id == user.id).first()
    new_username = changes[User.username]
    if (new_username and "username" not in v.errors and new_username.lower() != current.username.lower()
            and await username_taken(new_username)):
        v.fail("username", "Cet identifiant est déjà utilisé : choisissez-en un autre.")
    email_changed = bool(changes[User.email]) and changes[User.email].lower() != current.email.lower()
    confirmation = values.get("confirm_password") or ""
    if email_changed and not await verify_password_async(current.password_hash, confirmation):
        v.fail("confirm_password", "Saisissez votre mot de passe actuel pour changer d'adresse e-mail.")
    v.check()
    await User.update(changes).where(User.id == user.id)
    await audit.record("profile_updated", actor_id=user.id, object_type="user", object_id=user.id)
    if email_changed:  # to the old address: the one its owner still reads if this was not them
        await send_email_changed_notice(current.email, changes[User.email], changes[User.first_name],
                                        changes[User.username])


async def change_password(user: CurrentUser, current_password: str, password: str, confirm: str, *,
                          ip: str = "") -> None:
    """A new password ends every other session of the user (this one stays open)."""
    row = await User.select(User.password_hash, User.username, User.first_name, User.email).where(
        User.id == user.id).first()
    v = Validator({})
    if not await verify_password_async(row["password_hash"], current_password):
        v.fail("current_password", WRONG_PASSWORD)
    if problem := password_problem(password, username=row["username"]):
        v.fail("password", problem)
    elif password != confirm:
        v.fail("password_confirm", "Les deux mots de passe ne sont pas identiques.")
    v.check()
    password_hash = await hash_password_async(password)  # before the transaction: 0.2 s of CPU
    async with User._meta.db.transaction():
        await User.update({User.password_hash: password_hash}).where(User.id == user.id)
        await close_all_sessions(user.id, except_session_id=user.session_id)
        await audit.record("password_changed", actor_id=user.id, ip=ip)
    await send_password_changed_notice(row["email"], row["first_name"], row["username"], by_reset=False)


# -- Société ----------------------------------------------------------------------------------

async def company(company_id: int) -> dict:
    return await Company.select().where(Company.id == company_id).first()


async def update_company(user: CurrentUser, values: Mapping[str, str]) -> None:
    _require_admin(user)
    v = Validator(values)
    changes = {
        Company.name: v.text("name"),
        Company.email: v.email("email"),
        Company.phone: v.phone("phone"),
        Company.street: v.text("street"),
        Company.complement: v.text("complement", required=False),
        Company.city: v.text("city", max_length=100),
        Company.postal_code: v.postal_code("postal_code"),
        Company.country: v.text("country", max_length=100),
    }
    v.check()
    await Company.update(changes).where(Company.id == user.company_id)
    await audit.record("company_updated", actor_id=user.id, object_type="company", object_id=user.company_id)


# -- Utilisateurs -----------------------------------------------------------------------------
# The rules are shared with the reseller's Équipe: see app/settings/team.py.

async def list_users(company_id: int) -> list[dict]:
    return await team.list_members(team.Organisation("company", company_id))


async def company_user(user: CurrentUser, user_id: int) -> dict:
    """A user of the same company; anyone else is NotFound."""
    return await team.member(team.Organisation("company", user.company_id), user_id)


async def invite_user(admin: CurrentUser, values: Mapping[str, str], *, ip: str = "") -> int:
    """Nouvel utilisateur: created without a password, invited by e-mail to choose one."""
    _require_admin(admin)
    return await team.invite_member(admin, values, ip=ip)


async def resend_invitation(admin: CurrentUser, user_id: int) -> None:
    _require_admin(admin)
    await team.resend_member_invitation(admin, user_id)


async def update_user(admin: CurrentUser, user_id: int, values: Mapping[str, str]) -> None:
    """Edit a user of the company, including the Type; the last active administrator stays one."""
    _require_admin(admin)
    await team.update_member(admin, user_id, values)


async def set_active(admin: CurrentUser, user_id: int, active: bool, *, ip: str = "") -> None:
    """Désactiver ends that user's sessions at once; réactiver lets them sign in again."""
    _require_admin(admin)
    await team.set_member_active(admin, user_id, active, ip=ip)


# -- Adresses de livraison --------------------------------------------------------------------

async def list_addresses(company_id: int) -> list[dict]:
    """Live addresses first (the default at the top), archived ones last."""
    return await DeliveryAddress.raw(
        """SELECT * FROM delivery_address WHERE company = {}
           ORDER BY archived_at IS NOT NULL, is_default DESC, lower(label)""",
        company_id,
    )


async def company_address(company_id: int, address_id: int) -> dict:
    row = await DeliveryAddress.select().where(
        (DeliveryAddress.id == address_id) & (DeliveryAddress.company == company_id)).first()
    if row is None:
        raise NotFound()
    return row


async def create_address(user: CurrentUser, values: Mapping[str, str]) -> int:
    _require_admin(user)
    address = check_address(values)
    async with DeliveryAddress._meta.db.transaction():
        has_default = await DeliveryAddress.exists().where(
            (DeliveryAddress.company == user.company_id) & (DeliveryAddress.is_default == True)  # noqa: E712
            & DeliveryAddress.archived_at.is_null())
        rows = await DeliveryAddress.insert(DeliveryAddress(
            company=user.company_id, **address, is_default=not has_default)).returning(DeliveryAddress.id)
    return rows[0]["id"]


async def update_address(user: CurrentUser, address_id: int, values: Mapping[str, str]) -> None:
    """Edits apply to future declarations only: incidents keep the copy they were submitted with."""
    _require_admin(user)
    current = await company_address(user.company_id, address_id)
    if current["archived_at"] is not None:
        raise ValidationFailed({"label": "Cette adresse est archivée."})
    address = check_address(values)
    await DeliveryAddress.update({getattr(DeliveryAddress, k): v for k, v in address.items()}).where(
        DeliveryAddress.id == address_id)


async def archive_address(user: CurrentUser, address_id: int) -> None:
    """Archived addresses are no longer offered by the wizard; the default one cannot be archived."""
    _require_admin(user)
    current = await company_address(user.company_id, address_id)
    if current["is_default"]:
        raise ValidationFailed({"address": "Choisissez d'abord une autre adresse par défaut : "
                                           "celle-ci ne peut pas être archivée."})
    await DeliveryAddress.update({DeliveryAddress.archived_at: _now()}).where(DeliveryAddress.id == address_id)


async def make_default(user: CurrentUser, address_id: int) -> None:
    _require_admin(user)
    current = await company_address(user.company_id, address_id)
    if current["archived_at"] is not None:
        raise ValidationFailed({"address": "Une adresse archivée ne peut pas être l'adresse par défaut."})
    async with DeliveryAddress._meta.db.transaction():
        await DeliveryAddress.update({DeliveryAddress.is_default: False}).where(
            DeliveryAddress.company == user.company_id)
        await DeliveryAddress.update({DeliveryAddress.is_default: True}).where(DeliveryAddress.id == address_id)
