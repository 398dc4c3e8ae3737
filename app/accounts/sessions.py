"""Server-side sessions in PostgreSQL: created at sign-in, looked up on each request, revoked at will.

The browser holds a random token; the `user_session` row holds its hash, the owner and the
expiry. Rows are shared by every app process, so any process serves any request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app.accounts.tokens import new_token, token_hash
from app.config import settings
from app.db.tables import UserSession
from app.notifications.channel import publish, session_ended, sessions_ended

# A session's last_seen_at is written at most this often, so reading pages costs no write.
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in user as every request sees it."""

    id: int
    session_id: int
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    company_id: int | None
    reseller_id: int | None
    unread_notifications: int = 0  # for the bell's badge on a full page; the stream keeps it live

    @property
    def is_customer(self) -> bool:
        return self.company_id is not None

    @property
    def is_reseller(self) -> bool:
        return self.reseller_id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _expiry(*, remember: bool, created_at: datetime, seen_at: datetime) -> datetime:
    if remember:
        return created_at + timedelta(days=settings.remember_me_days)
    idle = seen_at + timedelta(minutes=settings.session_idle_minutes)
    absolute = created_at + timedelta(hours=settings.session_absolute_hours)
    return min(idle, absolute)


async def open_session(user_id: int, *, remember: bool, ip: str, user_agent: str) -> str:
    """Create a session for `user_id` and return the token to put in the cookie."""
    token = new_token()
    now = _now()
    await UserSession.insert(
        UserSession(
            token_hash=token_hash(token),
            user=user_id,
            remember=remember,
            created_at=now,
            last_seen_at=now,
            expires_at=_expiry(remember=remember, created_at=now, seen_at=now),
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    return token


_LOOKUP_SQL = """
SELECT s.id AS session_id, s.remember, s.created_at, s.last_seen_at,
       u.id, u.username, u.first_name, u.last_name, u.email, u.role, u.company, u.reseller,
       (SELECT count(*) FROM notification n WHERE n.recipient = u.id AND n.read_at IS NULL) AS unread
FROM user_session s JOIN app_user u ON u.id = s."user"
WHERE s.token_hash = {} AND s.expires_at > now() AND u.is_active
"""


async def current_user_for(token: str) -> CurrentUser | None:
    """The active user behind a session token, or None; slides the idle expiry forward."""
    rows = await UserSession.raw(_LOOKUP_SQL, token_hash(token))
    if not rows:
        return None
    row = rows[0]
    now = _now()
    if now - row["last_seen_at"] >= TOUCH_INTERVAL:
        await UserSession.update(
            {
                UserSession.last_seen_at: now,
                UserSession.expires_at: _expiry(
                    remember=row["remember"], created_at=row["created_at"], seen_at=now
                ),
            }
        ).where(UserSession.id == row["session_id"])
    return CurrentUser(
        id=row["id"],
        session_id=row["session_id"],
        username=row["username"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        role=row["role"],
        company_id=row["company"],
        reseller_id=row["reseller"],
        unread_notifications=row["unread"],
    )


async def close_session(token: str) -> None:
    """Sign-out: the row goes, and the streams of that session close."""
    rows = await UserSession.delete().where(UserSession.token_hash == token_hash(token)).returning(UserSession.id)
    await publish(session_ended(row["id"]) for row in rows)


async def close_all_sessions(user_id: int, *, except_session_id: int | None = None) -> None:
    """End every session of a user (password change, reset, deactivation) and their streams."""
    query = UserSession.delete().where(UserSession.user == user_id)
    if except_session_id is not None:
        query = query.where(UserSession.id != except_session_id)
    await query
    await publish([sessions_ended(user_id, except_session_id)])


async def session_is_open(session_id: int) -> bool:
    """Whether a session still stands (a stream re-checks after losing the event channel)."""
    rows = await UserSession.raw(
        """SELECT 1 FROM user_session s JOIN app_user u ON u.id = s."user"
           WHERE s.id = {} AND s.expires_at > now() AND u.is_active""",
        session_id,
    )
    return bool(rows)


async def purge_expired_sessions() -> int:
    rows = await UserSession.delete().where(UserSession.expires_at <= _now()).returning(UserSession.id)
    return len(rows)
