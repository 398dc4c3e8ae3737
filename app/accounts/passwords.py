"""Password hashing (argon2id) and the password policy: 12 to 128 characters, not a common one."""

from __future__ import annotations

import asyncio
import gzip
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.config import settings

MIN_LENGTH = 12  # ASVS 4.0.3 V2.1.1
MAX_LENGTH = 128  # ASVS V2.1.2: at least 64 allowed, more than 128 refused
# argon2id; the cost comes from the settings (RFC 9106's low-memory profile unless told otherwise).
# A hash made with other parameters still verifies, and needs_rehash() tells when to redo it.
_hasher = PasswordHasher(
    time_cost=settings.argon2_time_cost,
    memory_cost=settings.argon2_memory_kib,
    parallelism=settings.argon2_parallelism,
)
# Verified against when the username is unknown, so that timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-but-costs-the-same")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always pays the cost of one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# The app's own callers use these two: argon2id costs ~0.2 s of CPU per call by default, which on
# the event loop would hold every other request of the worker; in a thread (argon2-cffi releases
# the GIL) they go on. Threads of their own, one per core: a burst of sign-ins neither queues
# ahead of the default executor's work (DNS, file I/O) nor runs more hashes (each with its
# ARGON2_MEMORY_KIB) at once than there are cores to run them.
_hashing = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing, verify_password, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str, *, username: str = "") -> str | None:
    """The message that refuses `password`, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères."
    if len(password) > MAX_LENGTH:
        return f"Le mot de passe ne peut pas dépasser {MAX_LENGTH} caractères."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "Ce mot de passe est trop courant : choisissez-en un moins prévisible."
    if username and lowered == username.lower():
        return "Le mot de passe ne doit pas être votre identifiant."
    return None
