"""A paged GET listing as a `PageSource`: the one place a listing's page request is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .._pagination import PageSource
from .._types import CallContext, NotGiven, TimeoutTypes
from ._base import Requester

__all__ = ["listing"]

P = TypeVar("P")


def listing(
    requester: Requester,
    path: str,
    cast_to: type[P],
    count: Callable[[P], int],
    params: dict[str, str],
    page_size: int,
    timeout: TimeoutTypes | NotGiven,
    *,
    total: Callable[[P], int | None] | None = None,
) -> PageSource[P]:
    """A paged GET listing as a `PageSource`; ``params`` are checked and hold ``pageSize``.

    ``total`` reads how many entries the listing holds from a page, for a listing that says.
    """
    email = params.get("email")

    async def fetch(page_num: int) -> P:
        query = {**params, "pageNum": str(page_num)}
        context = CallContext(email=email, page_num=page_num)
        return await requester.request(
            "GET", path, cast_to, params=query, timeout=timeout, context=context
        )

    return PageSource(fetch=fetch, count=count, page_size=page_size, total=total)
