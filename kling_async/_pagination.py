"""Walking a paged listing that gives no total: a page shorter than the page size is the last."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

import attrs

__all__ = ["PageSource", "iter_pages"]

P = TypeVar("P")


@attrs.frozen
class PageSource(Generic[P]):
    """One paged listing, reduced to what a pager needs to know about it.

    Attributes:
        fetch: gets page ``n`` (1-based).
        count: how many entries a page holds; fewer than ``page_size`` (or none) ends the listing.
        page_size: the page size the pages are fetched with.

    """

    fetch: Callable[[int], Awaitable[P]]
    count: Callable[[P], int]
    page_size: int

    def is_last(self, page: P) -> bool:
        """Whether ``page`` ends the listing: empty, or shorter than the page size."""
        return self.count(page) < self.page_size


async def iter_pages(source: PageSource[P], *, start: int = 1) -> AsyncGenerator[P, None]:
    """Yield the pages of ``source`` one after another, skipping the empty one that may end it."""
    page_num = start
    while True:
        page = await source.fetch(page_num)
        if source.count(page):
            yield page
        if source.is_last(page):
            return
        page_num += 1
