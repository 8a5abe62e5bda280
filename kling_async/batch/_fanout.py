"""What every batch helper shares: the accounts it covers, its concurrency, its page iterator.

Each listing helper (`kling_async.batch.iter_pages`, `iter_upload_pages`,
`iter_element_pages`, ...) builds one `PageSource` per account with `listed_accounts` and hands
them to `fan_out`; the chunked helpers clamp their concurrency with `clamp_concurrency`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from .._client import KlingClient
from .._pagination import PageSource
from .._params import normalize_email, normalize_emails, positive_int
from ._pacing import make_pacer
from ._pages import ConcurrentPages, OnError, check_on_error

__all__ = ["account_of", "clamp_concurrency", "fan_out", "listed_accounts"]

P = TypeVar("P")


def account_of(client: KlingClient, email: str | None) -> str | None:
    """The account of a batch call's every request (checked before any), else the client's."""
    return normalize_email(email) if email is not None else client.email


def listed_accounts(client: KlingClient, emails: Iterable[str] | str | None) -> list[str | None]:
    """The accounts to list, each once (without regard to case); the client's default for None."""
    accounts = normalize_emails(emails)
    return [client.email] if accounts is None else list(accounts)


def clamp_concurrency(client: KlingClient, concurrency: int) -> int:
    """``concurrency``, checked, and at most the client's connection pool when its size is known."""
    limit = positive_int(concurrency, "concurrency")
    pool = client.max_connections
    return min(limit, pool) if pool else limit


def fan_out(
    client: KlingClient,
    sources: Sequence[tuple[str | None, PageSource[P]]],
    concurrency: int,
    per_account: int,
    on_error: OnError,
    max_per_second: float | None,
) -> ConcurrentPages[P]:
    """The page iterator over ``(email, source)`` pairs, its arguments checked."""
    return ConcurrentPages(
        sources,
        concurrency=clamp_concurrency(client, concurrency),
        per_account=positive_int(per_account, "per_account"),
        on_error=check_on_error(on_error),
        pacer=make_pacer(max_per_second),
    )
