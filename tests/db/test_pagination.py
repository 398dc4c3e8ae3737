"""A page and its list's total in one statement (app/pagination.py), exact or capped."""

from __future__ import annotations

from app.db.tables import Reseller
from app.pagination import TOTAL, Count, fetch_page

PAGE_SQL = f"SELECT {TOTAL}, code FROM reseller WHERE name = {{}} ORDER BY code LIMIT {{}} OFFSET {{}}"


async def _resellers(count: int) -> None:
    await Reseller.raw(
        """INSERT INTO reseller (code, name, email)
           SELECT 'R' || lpad(n::text, 3, '0'), 'Revendeur', 'r@example.com' FROM generate_series(1, {}) AS n""",
        count)


async def _page(offset: int, count: Count) -> tuple[list[str], int, bool]:
    rows, total, lower_bound = await fetch_page(Reseller, PAGE_SQL, "Revendeur", 25, offset, count=count, offset=offset)
    return [row["code"] for row in rows], total, lower_bound


async def test_exact_total_on_every_page_and_past_the_end():
    await _resellers(30)
    exact = Count("SELECT count(*) FROM reseller WHERE name = {}", ("Revendeur",))
    codes, total, lower_bound = await _page(0, exact)
    assert (codes[0], codes[-1], len(codes), total, lower_bound) == ("R001", "R025", 25, 30, False)
    assert await _page(25, exact) == (["R026", "R027", "R028", "R029", "R030"], 30, False)
    assert await _page(50, exact) == ([], 30, False)  # no row carries the total: counted apart


async def test_a_capped_total_is_a_lower_bound_until_the_end_is_near():
    await _resellers(60)

    def capped(offset: int) -> Count:
        return Count.up_to("FROM reseller WHERE name = {}", "Revendeur", offset=offset, cap=10)

    assert (await _page(0, capped(0)))[1:] == (10, True)  # "plus de 10"
    assert (await _page(25, capped(25)))[1:] == (35, True)
    assert (await _page(50, capped(50)))[1:] == (60, False)  # the end is within the cap: exact
    assert await _page(75, capped(75)) == ([], 60, False)
    assert await Reseller.count() == 60


async def test_a_total_counted_over_the_page_rows_is_the_same():
    await _resellers(30)
    over = Count("SELECT count(*) FROM reseller WHERE name = {}", ("Revendeur",), over_page_rows=True)
    codes, total, lower_bound = await _page(0, over)
    assert (len(codes), total, lower_bound) == (25, 30, False)
    assert await _page(25, over) == (["R026", "R027", "R028", "R029", "R030"], 30, False)
    assert await _page(50, over) == ([], 30, False)  # past the end: counted by its own statement
