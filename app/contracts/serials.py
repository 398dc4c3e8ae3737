"""Serial numbers are compared in one form: trimmed, upper case, inner spaces removed."""

from __future__ import annotations

import re

from app.validation import printable

_SPACES = re.compile(r"\s+")


def normalise_serial(serial: str) -> str:
    return _SPACES.sub("", printable(serial)).upper()
