"""`iter_element_pages`: the GET /elements listings of several accounts, fetched concurrently."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._client import KlingClient
from .._models import ElementsPage
from .._resources import ElementsListOptions
from ._fanout import fan_out, listed_accounts
from ._pages import ConcurrentPages, OnError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["iter_element_pages"]


def iter_element_pages(
    client: KlingClient,
    emails: Iterable[str] | str | None = None,
    *,
    concurrency: int = 16,
    per_account: int = 4,
    on_error: OnError = "raise",
    max_per_second: float | None = None,
    **options: Unpack[ElementsListOptions],
) -> ConcurrentPages[ElementsPage]:
    """Iterate over the /elements pages of several accounts, fetched concurrently.

    Each item is an `AccountPage` (``email``, ``page_num``, ``page``: the `ElementsPage`;
    ``elements``: its elements). ``options`` are those of `ElementsListOptions`
    (``favored``, ``official``, ``page_size``, ``sort``, ``tag``, ``timeout``); the other
    arguments, the guarantees and the ``async with`` form are those of `iter_pages`.

    The listing reports its ``total``, so nothing is requested past an account's end: each
    account's first page is requested alone, and once it is in, exactly the pages its total
    gives (up to ``per_account`` at a time). An account with no elements costs one request.

    Example::

        async with batch.iter_element_pages(client, emails, favored=True) as pages:
            async for p in pages:
                names = [element.name for element in p.elements]
    """
    sources = [
        (account, client.elements.page_source(email=account, **options))
        for account in listed_accounts(client, emails)
    ]
    return fan_out(client, sources, concurrency, per_account, on_error, max_per_second)
