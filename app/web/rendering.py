"""One template, two answers: the full page, or only its block when htmx swaps part of it.

A request gets the block when htmx asked for it into a named target, and it is neither a boosted
navigation nor a history restore (htmx#2013: those must get the whole page). A request aimed at
the body (HX-Location, HX-Redirect-like navigations) names no target and gets the whole page
too. Every answer varies on HX-Request.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2_fragments import render_block
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request
from litestar.response import Template


def wants_partial(request: Request) -> bool:
    headers = request.headers
    htmx = headers.get("hx-request") == "true"
    boosted = headers.get("hx-boosted") == "true"
    restoring = headers.get("hx-history-restore-request") == "true"
    return htmx and bool(headers.get("hx-target")) and not boosted and not restoring


# Blocks that stand for a whole page (a new URL is pushed): their answer names the new page
# (an HX-Trigger event that static/js/app.js turns into document.title), for the tab and for
# assistive technologies.
PAGE_BLOCKS = frozenset({"content", "step", "tab", "panel"})
SITE_NAME = "Portail contrats de service NAS"


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str = "content",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    push_url: str | None = None,
) -> Template:
    """The page, or its `block` for an htmx swap; `push_url` makes htmx update the address bar."""
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    if wants_partial(request):
        if block in PAGE_BLOCKS:
            title = _page_title(request, template_name, context or {})
            all_headers["HX-Trigger-After-Swap"] = json.dumps({"page-title": title})
        return HTMXBlockTemplate(
            template_name=template_name,
            block_name=block,
            context=context or {},
            status_code=status_code,
            headers=all_headers,
            push_url=push_url,
        )
    return Template(
        template_name=template_name,
        context=context or {},
        status_code=status_code,
        headers=all_headers,
    )


def _page_title(request: Request, template_name: str, context: dict[str, Any]) -> str:
    engine = request.app.template_engine
    title = render_block(engine.engine, template_name, "title", {**context, "request": request}).strip()
    return f"{title} · {SITE_NAME}"


def fragment(template_name: str, context: dict[str, Any] | None = None, *, status_code: int = 200) -> Template:
    """A partial template rendered whole: what an htmx or upload request swaps in by itself."""
    return Template(template_name=template_name, context=context or {}, status_code=status_code,
                    headers={"Vary": "HX-Request"})
