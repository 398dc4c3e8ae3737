"""Attachment files on disk: random names under ATTACHMENTS_DIR, never under the web root."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import aiofiles

from app.config import settings


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    size: int
    sha256: str


def path_of(stored_name: str) -> Path:
    return settings.attachments_dir / stored_name


async def store_bytes(data: bytes) -> StoredFile:
    """Write `data` under a fresh random name, readable by this user only."""
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = path_of(stored_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    async with aiofiles.open(path, "wb") as out:
        await out.write(data)
    return StoredFile(stored_name, len(data), hashlib.sha256(data).hexdigest())
