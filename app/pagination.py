"""A page of a long list: which items, which page, how many in all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from piccolo.table import Table

T = TypeVar("T")
PER_PAGE = 25


@dataclass(frozen=True)
class Page(Generic[T]):
    """`total` is exact, unless `total_is_lower_bound`: a list too long to count on every page
    view (the reseller queue) counts up to a cap past the current page and says "plus de"."""

    items: list[T]
    number: int
    total: int
    per_page: int = PER_PAGE
    total_is_lower_bound: bool = False

    @property
    def count(self) -> int:
        """How many pages there are (at least one, even when empty)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count or self.total_is_lower_bound

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.number * self.per_page, self.total)


def page_bounds(number: int, per_page: int = PER_PAGE) -> tuple[int, int, int]:
    """(page number clamped to 1.., limit, offset) for a requested page."""
    number = max(1, number)
    return number, per_page, (number - 1) * per_page


COUNT_CAP = 1000  # rows counted past the current page by a capped count; beyond, "plus de"
TOTAL = "{total}"  # where a page query's select list takes its list's total (see fetch_page)


@dataclass(frozen=True)
class Count:
    """How to count a list: a `SELECT count(*) …` and its arguments, optionally capped.

    `over_page_rows`: count the rows the page query itself selects (`count(*) OVER ()`), in the
    same scan, instead of a second scan by `sql` (which then serves past the last page only).
    Right for a search that keeps few of many rows; wrong for a long list read from an index in
    page order, which it would read whole.
    """

    sql: str
    args: tuple[object, ...] = ()
    cap: int | None = None
    over_page_rows: bool = False

    @classmethod
    def up_to(cls, from_where: str, *args: object, offset: int, cap: int = COUNT_CAP) -> Count:
        """Count at most `cap` rows past `offset`: a list of 170,000 incidents then costs the
        same to page through as one of 1,000 (the total is then a lower bound)."""
        return cls(f"SELECT count(*) FROM (SELECT 1 {from_where} LIMIT {{}}) AS counted",
                   (*args, offset + cap + 1), cap=cap)

    def total(self, counted: int, offset: int) -> tuple[int, bool]:
        """(total, is a lower bound) from what the count found."""
        if self.cap is not None and counted > offset + self.cap:
            return offset + self.cap, True
        return counted, False


async def fetch_page(table: type[Table], page_sql: str, *args: object, count: Count,
                     offset: int) -> tuple[list[dict], int, bool]:
    """A page's rows and its list's total in one round trip: `page_sql` starts its select list
    with TOTAL, before any placeholder, which becomes the count as an uncorrelated sub-select
    (PostgreSQL computes it once). Returns (rows, total, total is a lower bound)."""
    if count.over_page_rows:
        rows = await table.raw(page_sql.replace(TOTAL, "count(*) OVER () AS total_rows", 1), *args)
    else:
        rows = await table.raw(page_sql.replace(TOTAL, f"({count.sql}) AS total_rows", 1), *count.args, *args)
    if rows:
        counted = rows[0]["total_rows"]
        for row in rows:
            del row["total_rows"]
    elif offset == 0:
        counted = 0
    else:  # past the end: no row to carry the total
        counted = (await table.raw(f"SELECT ({count.sql}) AS n", *count.args))[0]["n"]
    total, lower_bound = count.total(counted, offset)
    return rows, total, lower_bound
