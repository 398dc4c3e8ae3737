"""Attachments: 20 Mo max. streamed, allowed types whose bytes match, downloads, deletion rules."""

from __future__ import annotations

import re

from app.config import settings
from app.db.tables import Attachment
from app.incidents.attachments import MAX_BYTES, MAX_FILES, content_disposition, display_name
from tests.factories import make_contract, make_customer, make_reseller
from tests.incidents.helpers import declare, start
from tests.support import post_form, sign_in, text_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


async def _setup(client):
    reseller_id = await make_reseller("R1", agent="agent_r1")
    await make_contract(reseller_id, "1001", "NAS0001")
    customer = await make_customer("acme", serial="NAS0001")
    await sign_in(client, "acme_admin")
    return customer


def _files_on_disk() -> list[str]:
    folder = settings.attachments_dir
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def _upload(client, url: str, name: str, data: bytes, *, htmx: bool = True):
    headers = {"x-csrftoken": client.cookies["csrftoken"]}
    if htmx:
        headers["HX-Request"] = "true"
    return await client.post(url, files={"file": (name, data, "application/octet-stream")}, headers=headers)


async def test_upload_in_the_wizard_stores_file_with_size_and_sha256(client):
    await _setup(client)
    draft = await start(client, "1001")
    response = await _upload(client, f"/incidents/drafts/{draft}/attachments", "journal système.log",
                             b"2024-01-01 boot failed\n")
    assert response.status_code == 201
    assert "journal système.log" in response.text and "Retirer" in response.text
    row = await Attachment.objects().first()
    assert row.size == 23 and row.content_type == "text/plain"
    assert row.sha256 == "c9f2ab0b0a9f4bcc57a0c4a1cb4f8e1d3c1da6fa6a21a24d3c4a5a4a2a4c2f0b"[:0] or len(row.sha256) == 64
    import hashlib

    assert row.sha256 == hashlib.sha256(b"2024-01-01 boot failed\n").hexdigest()
    assert _files_on_disk() == [row.stored_name]
    assert row.stored_name != "journal système.log" and re.fullmatch(r"[0-9a-f]{32}", row.stored_name)
    assert (settings.attachments_dir / row.stored_name).stat().st_mode & 0o777 == 0o600


async def test_21_mb_file_is_refused_and_nothing_stays(client):
    await _setup(client)
    draft = await start(client, "1001")
    big = b"a" * (21 * 1024 * 1024)
    response = await _upload(client, f"/incidents/drafts/{draft}/attachments", "huge.log", big)
    assert response.status_code == 413
    assert "Le fichier dépasse la taille maximale de 20 Mo." in response.text
    assert await Attachment.count() == 0 and _files_on_disk() == []


async def test_file_just_over_20_mb_inside_the_envelope_is_refused_while_copying(client):
    await _setup(client)
    draft = await start(client, "1001")
    response = await _upload(client, f"/incidents/drafts/{draft}/attachments", "edge.log", b"a" * (MAX_BYTES + 1))
    assert response.status_code == 422
    assert "Le fichier dépasse la taille maximale de 20 Mo." in response.text
    assert await Attachment.count() == 0 and _files_on_disk() == []
    exact = await _upload(client, f"/incidents/drafts/{draft}/attachments", "exact.log", b"a" * MAX_BYTES)
    assert exact.status_code == 201


async def test_forbidden_extension_and_lying_bytes_are_refused(client):
    await _setup(client)
    draft = await start(client, "1001")
    url = f"/incidents/drafts/{draft}/attachments"
    for name, data, message in (
        ("script.exe", b"MZ\x90\x00", "Ce type de fichier (.exe) n'est pas accepté."),
        ("page.html", b"<script>alert(1)</script>", "(.html) n'est pas accepté"),
        ("drawing.svg", b"<svg onload=alert(1)>", "(.svg) n'est pas accepté"),
        ("photo.png", b"MZ\x90\x00 not a png", "ne correspond pas à son extension .png"),
        ("doc.pdf", b"<html>", "ne correspond pas à son extension .pdf"),
        ("notes.txt", b"bin\x00ary", "ne correspond pas à son extension .txt"),
        ("empty.txt", b"", "Ce fichier est vide."),
    ):
        response = await _upload(client, url, name, data)
        assert response.status_code == 422, name
        assert message in text_of(response.text), (name, response.text)
    assert await Attachment.count() == 0 and _files_on_disk() == []
    for name, data in (("photo.png", PNG), ("doc.pdf", PDF), ("archive.zip", b"PK\x03\x04rest")):
        assert (await _upload(client, url, name, data)).status_code == 201, name


async def test_without_javascript_the_upload_posts_back_to_the_step(client):
    await _setup(client)
    draft = await start(client, "1001")
    response = await _upload(client, f"/incidents/drafts/{draft}/attachments", "a.txt", b"hello", htmx=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/incidents/drafts/{draft}/description"
    refused = await _upload(client, f"/incidents/drafts/{draft}/attachments", "a.exe", b"MZ", htmx=False)
    assert refused.status_code == 422
    assert "n'est pas accepté" in text_of(refused.text) and "Descriptif" in text_of(refused.text)
    page = text_of((await client.get(f"/incidents/drafts/{draft}/description")).text)
    assert "a.txt" in page


async def test_at_most_ten_files_per_incident(client):
    await _setup(client)
    draft = await start(client, "1001")
    url = f"/incidents/drafts/{draft}/attachments"
    for index in range(MAX_FILES):
        assert (await _upload(client, url, f"f{index}.txt", b"x")).status_code == 201
    refused = await _upload(client, url, "one-more.txt", b"x")
    assert refused.status_code == 422
    assert "limite de 10 fichiers" in text_of(refused.text)
    assert await Attachment.count() == MAX_FILES and len(_files_on_disk()) == MAX_FILES


async def test_removing_a_file_before_submitting(client):
    await _setup(client)
    draft = await start(client, "1001")
    await _upload(client, f"/incidents/drafts/{draft}/attachments", "a.txt", b"hello")
    row = await Attachment.objects().first()
    response = await client.post(f"/incidents/drafts/{draft}/attachments/{row.id}/delete",
                                 headers={"x-csrftoken": client.cookies["csrftoken"], "HX-Request": "true"})
    assert response.status_code == 200 and response.text == ""
    assert _files_on_disk() == []
    assert (await Attachment.objects().first()).deleted_at is not None


async def test_download_streams_as_an_attachment_with_safe_headers(client, new_client):
    await _setup(client)
    number = await declare(client, "1001")
    await _upload(client, f"/incidents/{number}/attachments", 'rapport "final"\r\n<script>.txt', b"contenu")
    row = await Attachment.objects().first()
    basic = new_client()
    await sign_in(basic, "acme_basic")  # a basic user may download
    response = await basic.get(f"/incidents/{number}/attachments/{row.id}")
    assert response.status_code == 200
    assert response.content == b"contenu"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition and "\r" not in disposition and "\n" not in disposition
    assert "<script>" not in disposition
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert response.headers["content-type"].startswith("text/plain")


async def test_deletion_by_admin_keeps_who_deleted_what(client):
    customer = await _setup(client)
    number = await declare(client, "1001")
    await _upload(client, f"/incidents/{number}/attachments", "a.txt", b"hello")
    row = await Attachment.objects().first()
    response = await post_form(client, f"/incidents/{number}/attachments/{row.id}/delete")
    assert response.status_code == 303
    row = await Attachment.objects().first()
    assert row.deleted_by == customer.admin_id and row.deleted_at is not None
    assert _files_on_disk() == []
    page = text_of((await client.get(f"/incidents/{number}")).text)
    assert "supprimé par Admin acme" in page
    assert (await client.get(f"/incidents/{number}/attachments/{row.id}")).status_code == 404


async def test_files_of_a_closed_incident_cannot_be_deleted(client):
    customer = await _setup(client)
    number = await declare(client, "1001")
    await _upload(client, f"/incidents/{number}/attachments", "a.txt", b"hello")
    from app.db.tables import Incident
    from app.incidents.services import change_status

    incident = await Incident.objects().where(Incident.number == number).first()
    await change_status(incident.id, "new", "resolved", customer.admin_id)
    await change_status(incident.id, "resolved", "closed", customer.admin_id)
    row = await Attachment.objects().first()
    response = await post_form(client, f"/incidents/{number}/attachments/{row.id}/delete")
    assert response.status_code == 403
    assert (await Attachment.objects().first()).deleted_at is None
    assert "Supprimer" not in (await client.get(f"/incidents/{number}")).text


async def test_files_uploaded_on_messagerie_join_the_next_message(client):
    await _setup(client)
    number = await declare(client, "1001")
    response = await _upload(client, f"/incidents/{number}/attachments", "photo.png", PNG)
    assert response.status_code == 201 and 'name="attachments"' in response.text
    row = await Attachment.objects().first()
    await post_form(client, f"/incidents/{number}/messages", [("body", "Voici la photo"), ("attachments", str(row.id))])
    row = await Attachment.objects().first()
    assert row.message is not None
    page = (await client.get(f"/incidents/{number}/messages")).text
    assert "Voici la photo" in page and f"/incidents/{number}/attachments/{row.id}" in page


async def test_reply_without_javascript_carries_its_file(client):
    await _setup(client)
    number = await declare(client, "1001")
    response = await client.post(f"/incidents/{number}/messages",
                                 data={"_csrf_token": client.cookies["csrftoken"], "body": "Avec un journal"},
                                 files={"file": ("kernel.log", b"panic\n", "text/plain")})
    assert response.status_code == 303
    row = await Attachment.objects().first()
    assert row.original_name == "kernel.log" and row.message is not None


def test_client_file_names_are_made_harmless():
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("C:\\Users\\me\\photo.jpg") == "photo.jpg"
    assert display_name("a\r\nb\x00.txt") == "ab.txt"
    assert display_name("") == "fichier"
    long = display_name("x" * 400 + ".pdf")
    assert len(long) <= 255 and long.endswith(".pdf")
    header = content_disposition('été "quoted";\r\n.txt')
    assert "\r" not in header and "\n" not in header and header.count('"') == 2


async def test_uploads_are_rate_limited_per_user(client):
    from app.db.tables import RateLimitHit

    await _setup(client)
    draft = await start(client, "1001")
    user = (await Attachment.raw("SELECT id FROM app_user WHERE username = 'acme_admin'"))[0]["id"]
    await RateLimitHit.insert(*[RateLimitHit(bucket="upload", key=str(user)) for _ in range(60)])
    response = await _upload(client, f"/incidents/drafts/{draft}/attachments", "a.txt", b"hello")
    assert response.status_code == 429
    assert "Trop de fichiers envoyés" in text_of(response.text)
    assert await Attachment.count() == 0 and _files_on_disk() == []
