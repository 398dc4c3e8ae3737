"""A page of a long list: which items, which page, how many in all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

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


def capped_total(counted: int, offset: int, cap: int) -> tuple[int, bool]:
    """(total, is a lower bound) from a count taken with `LIMIT offset + cap + 1`."""
    if counted > offset + cap:
        return offset + cap, True
    return counted, False
