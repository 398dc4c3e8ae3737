"""Paramètres: what a customer may change about themselves, their company, its users and addresses.

Roles are enforced here as well as by the routes' guards: only an administrator writes anything
but their own profile and password; the last active administrator can be neither demoted nor
deactivated (checked under a lock on the company, so two admins cannot demote each other at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from app import audit, mail
from app.accounts.passwords import hash_password, password_problem, verify_password
from app.accounts.services import create_user, issue_token, password_link, username_taken
from app.accounts.sessions import CurrentUser, close_all_sessions
from app.db.tables import Company, DeliveryAddress, User
from app.errors import Forbidden, NotFound, ValidationFailed
from app.validation import Validator, check_address

ROLE_LABELS = {"admin": "Administrateur", "basic": "Basique"}
LAST_ADMIN = "Votre société doit garder au moins un administrateur actif."
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
    if changes[User.email] and changes[User.email].lower() != current.email.lower():
        if not verify_password(current.password_hash, values.get("confirm_password") or ""):
            v.fail("confirm_password", "Saisissez votre mot de passe actuel pour changer d'adresse e-mail.")
    v.check()
    await User.update(changes).where(User.id == user.id)
    await audit.record("profile_updated", actor_id=user.id, object_type="user", object_id=user.id)


async def change_password(user: CurrentUser, current_password: str, password: str, confirm: str, *,
                          ip: str = "") -> None:
    """A new password ends every other session of the user (this one stays open)."""
    row = await User.select(User.password_hash, User.username).where(User.id == user.id).first()
    v = Validator({})
    if not verify_password(row["password_hash"], current_password):
        v.fail("current_password", WRONG_PASSWORD)
    if problem := password_problem(password, username=row["username"]):
        v.fail("password", problem)
    elif password != confirm:
        v.fail("password_confirm", "Les deux mots de passe ne sont pas identiques.")
    v.check()
    async with User._meta.db.transaction():
        await User.update({User.password_hash: hash_password(password)}).where(User.id == user.id)
        await close_all_sessions(user.id, except_session_id=user.session_id)
        await audit.record("password_changed", actor_id=user.id, ip=ip)


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

async def list_users(company_id: int) -> list[dict]:
    return await User.raw(
        """SELECT u.id, u.first_name, u.last_name, u.username, u.email, u.phone, u.role, u.is_active,
                  u.password_hash IS NULL AS invited
           FROM app_user u WHERE u.company = {} ORDER BY u.is_active DESC, lower(u.last_name), lower(u.first_name)""",
        company_id,
    )


async def company_user(user: CurrentUser, user_id: int) -> dict:
    """A user of the same company; anyone else is NotFound."""
    row = await User.select(User.id, User.first_name, User.last_name, User.username, User.email, User.phone,
                            User.role, User.is_active, User.password_hash).where(
        (User.id == user_id) & (User.company == user.company_id)).first()
    if row is None:
        raise NotFound()
    row["invited"] = row.pop("password_hash") is None
    return row


def _check_user_fields(values: Mapping[str, str]) -> tuple[Validator, dict]:
    v = Validator(values)
    fields = {
        "first_name": v.text("first_name", max_length=100),
        "last_name": v.text("last_name", max_length=100),
        "email": v.email("email"),
        "phone": v.phone("phone", required=False),
        "username": v.username("username"),
        "role": v.raw("role"),
    }
    if fields["role"] not in ROLE_LABELS:
        v.fail("role", "Choisissez Administrateur ou Basique.")
    return v, fields


async def _send_invitation(admin: CurrentUser, user_id: int) -> None:
    target = await User.select(User.first_name, User.email, User.username).where(User.id == user_id).first()
    token = await issue_token(user_id, "invitation")
    name = await Company.select(Company.name).where(Company.id == admin.company_id).first()
    await mail.send_mail(
        target["email"],
        "Votre accès au portail des contrats de service",
        f"Bonjour {target['first_name']},\n\n"
        f"{admin.display_name} vous a créé un accès au portail des contrats de service de "
        f"{name['name']}, avec l'identifiant « {target['username']} ».\n"
        f"Choisissez votre mot de passe en ouvrant ce lien (valable 72 heures) :\n\n{password_link(token)}\n",
    )


async def invite_user(admin: CurrentUser, values: Mapping[str, str], *, ip: str = "") -> int:
    """Nouvel utilisateur: created without a password, invited by e-mail to choose one."""
    _require_admin(admin)
    v, fields = _check_user_fields(values)
    if fields["username"] and "username" not in v.errors and await username_taken(fields["username"]):
        v.fail("username", "Cet identifiant est déjà utilisé : choisissez-en un autre.")
    v.check()
    async with User._meta.db.transaction():
        user_id = await create_user(**fields, company_id=admin.company_id)
        await _send_invitation(admin, user_id)
        await audit.record("user_invited", actor_id=admin.id, object_type="user", object_id=user_id, ip=ip)
    return user_id


async def resend_invitation(admin: CurrentUser, user_id: int) -> None:
    _require_admin(admin)
    target = await company_user(admin, user_id)
    if not target["invited"] or not target["is_active"]:
        raise ValidationFailed({"invitation": "Cet utilisateur a déjà choisi son mot de passe."})
    await _send_invitation(admin, user_id)


async def _lock_company(company_id: int) -> None:
    await Company.raw("SELECT id FROM company WHERE id = {} FOR UPDATE", company_id)


async def _other_active_admins(company_id: int, user_id: int) -> int:
    return await User.count().where(
        (User.company == company_id) & (User.role == "admin") & (User.is_active == True)  # noqa: E712
        & (User.id != user_id))


async def update_user(admin: CurrentUser, user_id: int, values: Mapping[str, str]) -> None:
    """Edit a user of the company, including the Type; the last active administrator stays one."""
    _require_admin(admin)
    target = await company_user(admin, user_id)
    v, fields = _check_user_fields(values)
    if (fields["username"] and "username" not in v.errors
            and fields["username"].lower() != target["username"].lower() and await username_taken(fields["username"])):
        v.fail("username", "Cet identifiant est déjà utilisé : choisissez-en un autre.")
    v.check()
    async with User._meta.db.transaction():
        await _lock_company(admin.company_id)
        if (target["role"] == "admin" and fields["role"] != "admin" and target["is_active"]
                and not await _other_active_admins(admin.company_id, user_id)):
            raise ValidationFailed({"role": LAST_ADMIN})
        await User.update({getattr(User, name): value for name, value in fields.items()}).where(User.id == user_id)
        await audit.record("user_updated", actor_id=admin.id, object_type="user", object_id=user_id,
                           role=fields["role"])


async def set_active(admin: CurrentUser, user_id: int, active: bool, *, ip: str = "") -> None:
    """Désactiver ends that user's sessions at once; réactiver lets them sign in again."""
    _require_admin(admin)
    target = await company_user(admin, user_id)
    async with User._meta.db.transaction():
        await _lock_company(admin.company_id)
        if (not active and target["role"] == "admin" and target["is_active"]
                and not await _other_active_admins(admin.company_id, user_id)):
            raise ValidationFailed({"active": LAST_ADMIN})
        await User.update({User.is_active: active}).where(User.id == user_id)
        if not active:
            await close_all_sessions(user_id)
        await audit.record("user_activated" if active else "user_deactivated", actor_id=admin.id,
                           object_type="user", object_id=user_id, ip=ip)


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
