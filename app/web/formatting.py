"""Dates and times as the guide shows them (09/12/2023, 23/12/2020 18:27), in Europe/Paris."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def date_fr(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date()
    return value.strftime("%d/%m/%Y")


def datetime_fr(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def today_paris() -> date:
    return datetime.now(PARIS).date()


def number_fr(value: int) -> str:
    """12345 → "12 345", with the narrow no-break space French typography puts between thousands."""
    return f"{value:,}".replace(",", "\u202f")
