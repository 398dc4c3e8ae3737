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


COUNT_CAP = 1000  # rows counted past the current page by count_up_to; beyond, the pager says "plus de"


async def count_up_to(table: type[Table], from_where: str, *args: object, offset: int,
                      cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(total, is a lower bound) of `SELECT … {from_where}`, counting at most `cap` rows past
    `offset`: a list of 170,000 incidents costs the same to page through as one of 1,000."""
    rows = await table.raw(f"SELECT count(*) AS n FROM (SELECT 1 {from_where} LIMIT {{}}) AS counted",
                           *args, offset + cap + 1)
    counted = rows[0]["n"]
    if counted > offset + cap:
        return offset + cap, True
    return counted, False
