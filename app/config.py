"""Settings read from the environment, with defaults that suit development.

Every setting is documented in README.md; change both together.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(var_dir: Path) -> str:
    """The key that signs CSRF tokens: SECRET_KEY, or one kept in var/ so restarts keep it."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    base_url: str
    secure_cookies: bool
    smtp_url: str | None
    mail_from: str
    var_dir: Path
    outbox_dir: Path
    attachments_dir: Path
    debug: bool
    session_idle_minutes: int = 120
    session_absolute_hours: int = 24
    remember_me_days: int = 30
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    database_pool_size: int = 10


def load_settings() -> Settings:
    """Read the environment once; the app and the CLI share the result."""
    var_dir = Path(os.environ.get("VAR_DIR", ROOT / "var"))
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    return Settings(
        database_url=os.environ.get("DATABASE_URL", ""),
        secret_key=_secret_key(var_dir),
        base_url=os.environ.get("BASE_URL", f"http://{host}:{port}").rstrip("/"),
        secure_cookies=_flag("SECURE_COOKIES"),
        smtp_url=os.environ.get("SMTP_URL") or None,
        mail_from=os.environ.get("MAIL_FROM", "Portail contrats NAS <no-reply@localhost>"),
        var_dir=var_dir,
        outbox_dir=Path(os.environ.get("OUTBOX_DIR", var_dir / "outbox")),
        attachments_dir=Path(os.environ.get("ATTACHMENTS_DIR", var_dir / "attachments")),
        debug=_flag("DEBUG"),
        # argon2id cost; the defaults are RFC 9106's low-memory profile (argon2-cffi's own).
        argon2_time_cost=int(os.environ.get("ARGON2_TIME_COST", 3)),
        argon2_memory_kib=int(os.environ.get("ARGON2_MEMORY_KIB", 65536)),
        argon2_parallelism=int(os.environ.get("ARGON2_PARALLELISM", 4)),
        # PostgreSQL connections per server process; requests beyond it wait their turn.
        database_pool_size=int(os.environ.get("DATABASE_POOL_SIZE", 10)),
    )


settings = load_settings()
