"""Dates as the guide writes them (09/12/2023, 23/12/2020 18:27), in Europe/Paris."""

from __future__ import annotations

from datetime import date, datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

from app.web.formatting import PARIS, date_fr, datetime_fr, number_fr


@given(st.dates(min_value=date(1000, 1, 1)))  # glibc writes year 999 without its zero
def test_a_date_is_day_month_year(value):
    assert date_fr(value) == value.strftime("%d/%m/%Y")


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)))
def test_a_moment_is_written_in_paris_time(value):
    in_paris = value.astimezone(PARIS)
    assert datetime_fr(value) == in_paris.strftime("%d/%m/%Y %H:%M")
    assert date_fr(value) == in_paris.strftime("%d/%m/%Y")


def test_the_day_changes_at_midnight_in_paris_not_in_utc():
    late_evening_utc = datetime(2026, 3, 5, 23, 30, tzinfo=timezone.utc)  # 00:30 on the 6th in Paris
    assert date_fr(late_evening_utc) == "06/03/2026"
    assert datetime_fr(late_evening_utc) == "06/03/2026 00:30"
    assert date_fr(date(2026, 3, 5)) == "05/03/2026"
    assert date_fr(None) == datetime_fr(None) == ""


def test_thousands_are_set_apart_by_a_narrow_no_break_space():
    assert number_fr(1234567) == "1\u202f234\u202f567"
