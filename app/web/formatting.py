"""Dates and times as the guide shows them (09/12/2023, 23/12/2020 18:27), in Europe/Paris."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


# Formatted by hand rather than with strftime: these run for every date of every list row (a
# tenth of the rendering of Mes contrats), and strftime goes through the C library's locale.

def date_fr(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS)
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def datetime_fr(value: datetime | None) -> str:
    if value is None:
        return ""
    value = value.astimezone(PARIS)
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d} {value.hour:02d}:{value.minute:02d}"


def today_paris() -> date:
    return datetime.now(PARIS).date()


def number_fr(value: int) -> str:
    """12345 → "12 345", with the narrow no-break space French typography puts between thousands."""
    return f"{value:,}".replace(",", "\u202f")
