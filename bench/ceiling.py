"""The ceiling of issue 8: the smallest Litestar app that does what a portal page does at its
core — one asyncpg query for 20 rows, one Jinja table — served by the same server (uvicorn) with
the same worker count as the product. `/noquery` renders the same table from rows in memory.

    DATABASE_URL=... uvicorn bench.ceiling:create_app --factory --workers 2
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

QUERY = """SELECT number, product_reference, starts_on, ends_on FROM contract
           WHERE company = $1 ORDER BY ends_on DESC, number LIMIT 20"""
COMPANY_ID = int(os.environ.get("CEILING_COMPANY_ID", "1"))
_FIXED_ROWS: list[dict] = []


@asynccontextmanager
async def _pool(app: Litestar) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=10)
    try:
        yield
    finally:
        await app.state.pool.close()


@get("/")
async def table(state: State) -> Template:
    async with state.pool.acquire() as connection:
        rows = await connection.fetch(QUERY, COMPANY_ID)
    return Template(template_name="ceiling.html", context={"rows": rows})


@get("/noquery")
async def table_without_query(state: State) -> Template:
    if not _FIXED_ROWS:
        async with state.pool.acquire() as connection:
            _FIXED_ROWS.extend(dict(row) for row in await connection.fetch(QUERY, COMPANY_ID))
    return Template(template_name="ceiling.html", context={"rows": _FIXED_ROWS})


@get("/healthz")
async def healthz() -> str:
    return "ok"


def create_app() -> Litestar:
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=select_autoescape(default=True))
    return Litestar(
        route_handlers=[table, table_without_query, healthz],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        lifespan=[_pool],
        openapi_config=None,
    )
