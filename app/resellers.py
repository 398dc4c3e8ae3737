"""Resellers as the operator creates them (the reseller view's own services come with issue 7)."""

from __future__ import annotations

from app import audit
from app.accounts.services import create_user, issue_token, password_link
from app.db.tables import Reseller
from app.errors import ValidationFailed
from app.validation import Validator


async def create_reseller(
    *, code: str, name: str, email: str, admin_username: str, admin_email: str,
    admin_first_name: str = "", admin_last_name: str = "",
) -> tuple[int, str]:
    """Create a reseller and its first administrator; returns (reseller id, one-time password link)."""
    v = Validator({"code": code, "name": name, "email": email,
                   "admin_username": admin_username, "admin_email": admin_email})
    code = v.text("code", max_length=32).upper()
    v.text("name")
    v.email("email")
    v.username("admin_username")
    v.email("admin_email")
    if code and await Reseller.exists().where(Reseller.code == code):
        v.fail("code", f"le code revendeur {code} existe déjà")
    v.check()
    async with Reseller._meta.db.transaction():
        rows = await Reseller.insert(Reseller(code=code, name=name.strip(), email=email.strip())).returning(
            Reseller.id
        )
        reseller_id = rows[0]["id"]
        user_id = await create_user(
            username=admin_username.strip(), first_name=admin_first_name.strip(),
            last_name=admin_last_name.strip() or name.strip(), email=admin_email.strip(),
            role="admin", reseller_id=reseller_id,
        )
        token = await issue_token(user_id, "invitation")
        await audit.record("reseller_created", object_type="reseller", object_id=reseller_id)
    return reseller_id, password_link(token)


async def reseller_id_for(code: str) -> int:
    row = await Reseller.select(Reseller.id).where(Reseller.code == code.strip().upper()).first()
    if row is None:
        raise ValidationFailed({"reseller": f"aucun revendeur avec le code {code}"})
    return row["id"]
