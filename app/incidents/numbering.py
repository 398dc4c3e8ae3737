"""Incident numbers: YYMMDD of the submission day in Europe/Paris, then that day's sequence.

The guide's 20122301 is the first incident of 23/12/2020. The sequence has two digits and
widens to three past 99. One upsert allocates it, so concurrent submissions never collide.
"""

from __future__ import annotations

from datetime import date

from app.db.tables import IncidentDayCounter
from app.web.formatting import today_paris


def format_number(day: date, sequence: int) -> str:
    return f"{day:%y%m%d}{sequence:02d}"


async def allocate_number(day: date | None = None) -> str:
    """The next number of `day` (today in Paris by default); call inside the submitting transaction."""
    day = day or today_paris()
    rows = await IncidentDayCounter.raw(
        """INSERT INTO incident_day_counter (day, last_value) VALUES ({}, 1)
           ON CONFLICT (day) DO UPDATE SET last_value = incident_day_counter.last_value + 1
           RETURNING last_value""",
        day,
    )
    return format_number(day, rows[0]["last_value"])
