"""Attachment rules: which files, how big, how many, stored how, deleted by whom.

Upload hygiene after piccolo_api's media/local.py: only the final component of the client's
name is kept (for display and download), the file is stored under a random name outside the
web root with mode 0600, the extension is allow-listed and, where the format has magic bytes,
they must match it. The size is counted while copying, so nothing larger than the limit is
ever kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import aiofiles
import aiofiles.os

from app import audit
from app.accounts import ratelimit
from app.config import settings
from app.db.tables import Attachment
from app.errors import Forbidden, ValidationFailed

MAX_BYTES = 20 * 1024 * 1024  # "20 Mo max." per file
MAX_FILES = 10
CHUNK = 256 * 1024
TOO_BIG = "Le fichier dépasse la taille maximale de 20 Mo."
TOO_MANY = f"Vous avez atteint la limite de {MAX_FILES} fichiers pour cet incident."

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
# extension → (content type, accepted leading bytes; None = text, checked for NUL bytes)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (b"RIFF",)),
    "bmp": ("image/bmp", (b"BM",)),
    "tif": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    "tiff": ("image/tiff", (b"II*\x00", b"MM\x00*")),
    "heic": ("image/heic", ()),
    "pdf": ("application/pdf", (b"%PDF-",)),
    "txt": ("text/plain", None),
    "log": ("text/plain", None),
    "csv": ("text/csv", None),
    "json": ("application/json", None),
    "xml": ("application/xml", None),
    "eml": ("message/rfc822", None),
    "zip": ("application/zip", _ZIP),
    "7z": ("application/x-7z-compressed", (b"7z\xbc\xaf\x27\x1c",)),
    "gz": ("application/gzip", (b"\x1f\x8b",)),
    "tgz": ("application/gzip", (b"\x1f\x8b",)),
    "tar": ("application/x-tar", ()),
    "doc": ("application/msword", _OLE),
    "xls": ("application/vnd.ms-excel", _OLE),
    "ppt": ("application/vnd.ms-powerpoint", _OLE),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", _ZIP),
    "odt": ("application/vnd.oasis.opendocument.text", _ZIP),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", _ZIP),
    "odp": ("application/vnd.oasis.opendocument.presentation", _ZIP),
}
ACCEPT = ",".join(f".{extension}" for extension in ALLOWED)


class Upload(Protocol):
    """What the web layer hands over: a name and an async reader (Litestar's UploadFile fits)."""

    filename: str

    async def read(self, size: int = -1) -> bytes: ...


class MemoryUpload:
    """An Upload from bytes already in memory (demo data, tests)."""

    def __init__(self, filename: str, data: bytes) -> None:
        self.filename = filename
        self._data = memoryview(data)
        self._offset = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        chunk = bytes(self._data[self._offset:end])
        self._offset += len(chunk)
        return chunk


def display_name(client_name: str) -> str:
    """The client's file name made harmless: last path component, no control characters, ≤ 255."""
    name = re.split(r"[\\/]", client_name or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "fichier"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 250 - len(extension)] + dot + extension) if dot and len(extension) < 16 else name[:255]
    return name


def extension_of(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _looks_right(extension: str, head: bytes) -> bool:
    _, signatures = ALLOWED[extension]
    if signatures is None:
        return b"\x00" not in head
    if extension == "webp":
        return head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    if extension == "tar":
        return head[257:262] == b"ustar"
    if extension == "heic":
        return head[4:8] == b"ftyp"
    return any(head.startswith(signature) for signature in signatures)


@dataclass(frozen=True)
class StoredUpload:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str


def path_of(stored_name: str) -> Path:
    return settings.attachments_dir / stored_name


async def store_upload(upload: Upload) -> StoredUpload:
    """Check and copy an uploaded file to disk; raises ValidationFailed (field `file`)."""
    name = display_name(upload.filename)
    extension = extension_of(name)
    if extension not in ALLOWED:
        raise ValidationFailed({"file": f"Ce type de fichier (.{extension or '?'}) n'est pas accepté. "
                                        "Formats acceptés : images, PDF, textes et journaux, archives "
                                        "zip/7z/tar/gz, CSV/JSON/XML, documents bureautiques, .eml."})
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = path_of(stored_name)
    digest, size = hashlib.sha256(), 0
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        async with aiofiles.open(path, "wb") as out:
            head = await upload.read(CHUNK)
            if not head:
                raise ValidationFailed({"file": "Ce fichier est vide."})
            if not _looks_right(extension, head):
                raise ValidationFailed({"file": f"Le contenu de ce fichier ne correspond pas à "
                                                f"son extension .{extension}."})
            chunk = head
            while chunk:
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ValidationFailed({"file": TOO_BIG})
                digest.update(chunk)
                await out.write(chunk)
                chunk = await upload.read(CHUNK)
    except BaseException:
        await discard(stored_name)
        raise
    return StoredUpload(name, stored_name, ALLOWED[extension][0], size, digest.hexdigest())


async def discard(stored_name: str) -> None:
    """Remove a stored file; a file already gone is fine."""
    try:
        await aiofiles.os.remove(path_of(stored_name))
    except FileNotFoundError:
        pass


async def save_attachment(incident_id: int, user_id: int, upload: Upload, *,
                          message_id: int | None = None) -> int:
    """Store `upload` as a file of the incident; at most MAX_FILES live files per incident,
    and at most 60 uploads per user in 10 minutes (RateLimited)."""
    await ratelimit.hit_and_check(ratelimit.UPLOADS_PER_USER, str(user_id))
    stored = await store_upload(upload)
    try:
        async with Attachment._meta.db.transaction():
            # Lock the incident row so two parallel uploads cannot both pass the count.
            await Attachment.raw("SELECT id FROM incident WHERE id = {} FOR UPDATE", incident_id)
            live = await Attachment.count().where(
                (Attachment.incident == incident_id) & Attachment.deleted_at.is_null()
            )
            if live >= MAX_FILES:
                raise ValidationFailed({"file": TOO_MANY})
            rows = await Attachment.insert(Attachment(
                incident=incident_id, message=message_id, original_name=stored.original_name,
                stored_name=stored.stored_name, content_type=stored.content_type, size=stored.size,
                sha256=stored.sha256, uploaded_by=user_id,
            )).returning(Attachment.id)
    except BaseException:
        await discard(stored.stored_name)
        raise
    return rows[0]["id"]


async def delete_attachment(attachment: dict, *, user_id: int, is_admin: bool, incident_status: str,
                            ip: str = "") -> None:
    """Supprimer: by its uploader or an administrator, while the incident is not closed.

    The row stays (who deleted what, and when); the file leaves the disk.
    """
    if incident_status == "closed":
        raise Forbidden("Cet incident est clos : ses fichiers ne peuvent plus être supprimés.")
    if not (is_admin or attachment["uploaded_by"] == user_id):
        raise Forbidden("Seul l'auteur du fichier ou un administrateur peut le supprimer.")
    if attachment["deleted_at"] is not None:
        return
    await Attachment.update({Attachment.deleted_at: datetime.now(timezone.utc),
                             Attachment.deleted_by: user_id}).where(Attachment.id == attachment["id"])
    await audit.record("attachment_deleted", actor_id=user_id, object_type="attachment",
                       object_id=attachment["id"], ip=ip, name=attachment["original_name"])
    await discard(attachment["stored_name"])


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII fallback and the exact UTF-8 name, both harmless in a header."""
    from urllib.parse import quote

    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = re.sub(r'[^A-Za-z0-9._ -]', "_", fallback).strip() or "fichier"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def sweep_orphan_files(older_than_seconds: int = 3600) -> int:
    """Remove stored files that no row names (a crash between writing a file and committing
    its row); recent ones are left alone, their upload may still be committing."""
    folder = settings.attachments_dir
    if not folder.exists():
        return 0
    cutoff = datetime.now(timezone.utc).timestamp() - older_than_seconds
    candidates = [p.name for p in folder.iterdir() if p.is_file() and p.stat().st_mtime < cutoff]
    if not candidates:
        return 0
    rows = await Attachment.select(Attachment.stored_name).where(Attachment.stored_name.is_in(candidates))
    known = {row["stored_name"] for row in rows}
    orphans = [name for name in candidates if name not in known]
    for name in orphans:
        await discard(name)
    return len(orphans)
