"""Walking the declaration wizard as a browser without JavaScript does."""

from __future__ import annotations

import re

import httpx

from app.db.tables import Article, DeliveryAddress
from tests.support import post_form


async def start(client: httpx.AsyncClient, contract_number: str) -> int:
    response = await post_form(client, f"/contracts/{contract_number}/incidents")
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/incidents/drafts/(\d+)/declaration", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def article_ids(contract_number: str) -> list[int]:
    rows = await Article.raw(
        "SELECT a.id FROM article a JOIN contract c ON c.id = a.contract WHERE c.number = {} ORDER BY a.id",
        contract_number,
    )
    return [row["id"] for row in rows]


async def declare(client: httpx.AsyncClient, contract_number: str, *, title: str = "Le NAS ne démarre plus",
                  company_id: int | None = None) -> str:
    """The whole wizard with valid answers; returns the new incident's number."""
    draft = await start(client, contract_number)
    ids = await article_ids(contract_number)
    response = await post_form(client, f"/incidents/drafts/{draft}/declaration", [
        ("title", title), ("nature", "defective"), ("action", "next"), *[("articles", str(i)) for i in ids]])
    assert response.status_code == 303, response.text
    response = await post_form(client, f"/incidents/drafts/{draft}/description",
                               {"description": "LED rouge clignotante.", "action": "next"})
    assert response.status_code == 303, response.text
    address = await DeliveryAddress.select(DeliveryAddress.id).first()
    response = await post_form(client, f"/incidents/drafts/{draft}/address",
                               {"address": str(address["id"]), "action": "next"})
    assert response.status_code == 303, response.text
    response = await post_form(client, f"/incidents/drafts/{draft}/submit")
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/incidents/(\d+)\?declared=1", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)
