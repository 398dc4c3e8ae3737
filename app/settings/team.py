"""The users of an organisation: a customer company (Paramètres › Utilisateurs) or a reseller (Équipe).

Both sides invite by e-mail, change a user's type, deactivate and reactivate, and keep at least
one active administrator — checked under a lock on the organisation's row, so two administrators
cannot demote each other at once. The organisation is always the acting administrator's own
(`Organisation.of`), so no function here can reach another tenant's users: they are NotFound.
app/settings/services.py calls these for customers; the reseller view calls them directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from piccolo.columns import Column
from piccolo.table import Table

from app import audit, mail
from app.accounts.services import (
    create_user,
    issue_token,
    password_link,
    send_email_changed_notice,
    username_taken,
)
from app.accounts.sessions import CurrentUser, close_all_sessions
from app.db.tables import Company, Reseller, User
from app.errors import Forbidden, NotFound, ValidationFailed
from app.validation import Validator

COMPANY_ROLES = {"admin": "Administrateur", "basic": "Basique"}
RESELLER_ROLES = {"admin": "Administrateur", "agent": "Agent"}
COMPANY_LAST_ADMIN = "Votre société doit garder au moins un administrateur actif."
RESELLER_LAST_ADMIN = "L'équipe doit garder au moins un administrateur actif."
USERNAME_TAKEN = "Cet identifiant est déjà utilisé : choisissez-en un autre."
ALREADY_SET_UP = "Cet utilisateur a déjà choisi son mot de passe."


@dataclass(frozen=True)
class Organisation:
    """Whose users these are: the company or the reseller of a signed-in user."""

    kind: str  # company | reseller
    id: int

    @classmethod
    def of(cls, user: CurrentUser) -> Organisation:
        if user.company_id is not None:
            return cls("company", user.company_id)
        return cls("reseller", user.reseller_id)  # type: ignore[arg-type]

    @property
    def table(self) -> type[Table]:
        return Company if self.kind == "company" else Reseller

    @property
    def column(self) -> Column:
        """The app_user column that ties a user to this organisation."""
        return User.company if self.kind == "company" else User.reseller

    @property
    def roles(self) -> dict[str, str]:
        return COMPANY_ROLES if self.kind == "company" else RESELLER_ROLES

    @property
    def last_admin(self) -> str:
        return COMPANY_LAST_ADMIN if self.kind == "company" else RESELLER_LAST_ADMIN


def _require_admin(admin: CurrentUser) -> Organisation:
    if not admin.is_admin:
        raise Forbidden()
    return Organisation.of(admin)


async def list_members(organisation: Organisation) -> list[dict]:
    """Active users first, then by name; `invited` when the user has not chosen a password yet."""
    return await User.raw(
        f"""SELECT u.id, u.first_name, u.last_name, u.username, u.email, u.phone, u.role, u.is_active,
                   u.password_hash IS NULL AS invited
            FROM app_user u WHERE u.{organisation.kind} = {{}}
            ORDER BY u.is_active DESC, lower(u.last_name), lower(u.first_name)""",
        organisation.id,
    )


async def member(organisation: Organisation, user_id: int) -> dict:
    """A user of the organisation; anyone else is NotFound."""
    row = await User.select(User.id, User.first_name, User.last_name, User.username, User.email, User.phone,
                            User.role, User.is_active, User.password_hash).where(
        (User.id == user_id) & (organisation.column == organisation.id)).first()
    if row is None:
        raise NotFound()
    row["invited"] = row.pop("password_hash") is None
    return row


def _check_member_fields(organisation: Organisation, values: Mapping[str, str]) -> tuple[Validator, dict]:
    v = Validator(values)
    fields = {
        "first_name": v.text("first_name", max_length=100),
        "last_name": v.text("last_name", max_length=100),
        "email": v.email("email"),
        "phone": v.phone("phone", required=False),
        "username": v.username("username"),
        "role": v.raw("role"),
    }
    if fields["role"] not in organisation.roles:
        v.fail("role", f"Choisissez {' ou '.join(organisation.roles.values())}.")
    return v, fields


async def _send_invitation(admin: CurrentUser, organisation: Organisation, user_id: int) -> None:
    target = await User.select(User.first_name, User.email, User.username).where(User.id == user_id).first()
    token = await issue_token(user_id, "invitation")
    table = organisation.table
    name = await table.select(table.name).where(table.id == organisation.id).first()  # type: ignore[attr-defined]
    await mail.send_mail(
        target["email"],
        "Votre accès au portail des contrats de service",
        f"Bonjour {target['first_name']},\n\n"
        f"{admin.display_name} vous a créé un accès au portail des contrats de service de "
        f"{name['name']}, avec l'identifiant « {target['username']} ».\n"
        f"Choisissez votre mot de passe en ouvrant ce lien (valable 72 heures) :\n\n{password_link(token)}\n",
    )


async def invite_member(admin: CurrentUser, values: Mapping[str, str], *, ip: str = "") -> int:
    """Nouvel utilisateur: created without a password, invited by e-mail to choose one."""
    organisation = _require_admin(admin)
    v, fields = _check_member_fields(organisation, values)
    if fields["username"] and "username" not in v.errors and await username_taken(fields["username"]):
        v.fail("username", USERNAME_TAKEN)
    v.check()
    async with User._meta.db.transaction():
        user_id = await create_user(**fields, **{f"{organisation.kind}_id": organisation.id})
        await _send_invitation(admin, organisation, user_id)
        await audit.record("user_invited", actor_id=admin.id, object_type="user", object_id=user_id, ip=ip)
    return user_id


async def resend_member_invitation(admin: CurrentUser, user_id: int) -> None:
    """A new invitation link; the previous one stops working."""
    organisation = _require_admin(admin)
    target = await member(organisation, user_id)
    if not target["invited"] or not target["is_active"]:
        raise ValidationFailed({"invitation": ALREADY_SET_UP})
    await _send_invitation(admin, organisation, user_id)


async def _lock(organisation: Organisation) -> None:
    await User.raw(f"SELECT id FROM {organisation.kind} WHERE id = {{}} FOR UPDATE", organisation.id)


async def _other_active_admins(organisation: Organisation, user_id: int) -> int:
    return await User.count().where(
        (organisation.column == organisation.id) & (User.role == "admin")
        & (User.is_active == True) & (User.id != user_id))  # noqa: E712


async def update_member(admin: CurrentUser, user_id: int, values: Mapping[str, str]) -> None:
    """Edit a user of the organisation, including the Type; the last active administrator stays one."""
    organisation = _require_admin(admin)
    target = await member(organisation, user_id)
    v, fields = _check_member_fields(organisation, values)
    if (fields["username"] and "username" not in v.errors
            and fields["username"].lower() != target["username"].lower() and await username_taken(fields["username"])):
        v.fail("username", USERNAME_TAKEN)
    v.check()
    async with User._meta.db.transaction():
        await _lock(organisation)
        if (target["role"] == "admin" and fields["role"] != "admin" and target["is_active"]
                and not await _other_active_admins(organisation, user_id)):
            raise ValidationFailed({"role": organisation.last_admin})
        await User.update({getattr(User, name): value for name, value in fields.items()}).where(User.id == user_id)
        await audit.record("user_updated", actor_id=admin.id, object_type="user", object_id=user_id,
                           role=fields["role"])
    # A new address is where the next reset link goes: its former owner hears of it. Not for an
    # invitation still pending (a mistyped address being corrected belongs to nobody).
    if fields["email"].lower() != target["email"].lower() and not target["invited"]:
        await send_email_changed_notice(target["email"], fields["email"], fields["first_name"],
                                        fields["username"], by_administrator=True)


async def set_member_active(admin: CurrentUser, user_id: int, active: bool, *, ip: str = "") -> None:
    """Désactiver ends that user's sessions at once; réactiver lets them sign in again."""
    organisation = _require_admin(admin)
    target = await member(organisation, user_id)
    async with User._meta.db.transaction():
        await _lock(organisation)
        if (not active and target["role"] == "admin" and target["is_active"]
                and not await _other_active_admins(organisation, user_id)):
            raise ValidationFailed({"active": organisation.last_admin})
        await User.update({User.is_active: active}).where(User.id == user_id)
        if not active:
            await close_all_sessions(user_id)
        await audit.record("user_activated" if active else "user_deactivated", actor_id=admin.id,
                           object_type="user", object_id=user_id, ip=ip)
