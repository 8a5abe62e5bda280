"""Paged listings, reduced to what a pager needs: "fetch page n" and "is this the last page".

Three kinds of listing fit one `PageSource`:

- numbered pages without a total (GET /assets): a page shorter than the page size is the last;
- numbered pages with a total (GET /elements): the first page says how many pages exist, so a
  pager asks for exactly those;
- cursor pages (GET /tasks): page n + 1 is asked for with something page n gave (``sequential``);
  `cursor_source` turns such a listing into numbered pages.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Generic, TypeVar

import attrs

__all__ = ["PageSource", "cursor_source", "iter_pages"]

P = TypeVar("P")
C = TypeVar("C")


@attrs.frozen
class PageSource(Generic[P]):
    """One paged listing, reduced to what a pager needs to know about it.

    Attributes:
        fetch: gets page ``n`` (1-based).
        count: how many entries a page holds; fewer than ``page_size`` (or none) ends the listing.
        page_size: the page size the pages are fetched with.
        total: for a listing that reports its size, how many entries it holds in all, read from
            any of its pages (None when a page does not say). A pager then asks for page 1
            alone first, and afterwards for exactly the pages that exist.
        sequential: page ``n + 1`` can only be fetched once page ``n`` is in (cursor paging):
            a pager keeps one request in flight for this listing.
        ends: whether a page ends the listing although it is full (a cursor listing's page
            without a next cursor).
    """

    fetch: Callable[[int], Awaitable[P]]
    count: Callable[[P], int]
    page_size: int
    total: Callable[[P], int | None] | None = None
    sequential: bool = False
    ends: Callable[[P], bool] | None = None

    def is_last(self, page: P) -> bool:
        """Whether ``page`` ends the listing: empty, shorter than the page size, or `ends`."""
        return self.count(page) < self.page_size or (self.ends is not None and self.ends(page))

    def page_count(self, page: P) -> int | None:
        """How many pages the listing has, when ``page`` says its total (at least 1)."""
        total = self.total(page) if self.total is not None else None
        if total is None:
            return None
        return max(1, math.ceil(total / self.page_size))


def cursor_source(
    fetch_after: Callable[[C | None], Awaitable[P]],
    next_cursor: Callable[[P], C | None],
    count: Callable[[P], int],
    page_size: int,
) -> PageSource[P]:
    """A cursor-paged listing as a sequential `PageSource`.

    ``fetch_after(None)`` gets the first page; ``fetch_after(cursor)`` the page after the one
    whose ``next_cursor`` gave ``cursor``. A page without a next cursor, or shorter than
    ``page_size``, ends the listing. Page ``n`` may be fetched again (a retry after a
    cancellation) with the same cursor.
    """
    cursors: dict[int, C | None] = {1: None}

    async def fetch(page_num: int) -> P:
        try:
            cursor = cursors[page_num]
        except KeyError:
            raise RuntimeError(
                f"page {page_num} of a cursor listing was asked for before page {page_num - 1}"
            ) from None
        page = await fetch_after(cursor)
        cursors[page_num + 1] = next_cursor(page)
        return page

    def ends(page: P) -> bool:
        return next_cursor(page) is None

    return PageSource(fetch=fetch, count=count, page_size=page_size, sequential=True, ends=ends)


async def iter_pages(source: PageSource[P], *, start: int = 1) -> AsyncGenerator[P, None]:
    """Yield the pages of ``source`` one after another, skipping the empty one that may end it."""
    page_num = start
    pages: int | None = None
    while True:
        page = await source.fetch(page_num)
        if source.count(page):
            yield page
        if pages is None:
            pages = source.page_count(page)
        if source.is_last(page) or (pages is not None and page_num >= pages):
            return
        page_num += 1
