"""Reading submitted forms the same way everywhere."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import UploadFile


async def form_values(request: Request) -> dict[str, str]:
    """The text fields of a posted form, one value each (the last one when repeated)."""
    form = await request.form()
    return {key: value for key, value in form.items() if not isinstance(value, UploadFile)}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a query string, only when it stays on this site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
