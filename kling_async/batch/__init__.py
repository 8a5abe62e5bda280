"""Concurrent helpers: list several accounts at once, download and delete any number of IDs.

Listings (`iter_pages`, `iter_upload_pages`, `iter_element_pages`, `iter_task_pages`) fetch the
pages of one or more accounts concurrently and yield each account's pages in order; ID helpers
(`download`, `delete_uploaded`) split long ID lists into chunks of up to 10 and call the
endpoint once per chunk, concurrently, reporting every chunk's outcome; `upload` sends files
the same way, one per call, and `delete_tasks` deletes tasks, one per call. All of them run on
asyncio and trio, and stay within the client's connection pool. 429s and other retryable
failures are retried by the client's `RetryPolicy`, as for any call (an upload only when it
surely did not reach the service); ``max_per_second`` paces the start of calls.

Listing several accounts::

    from kling_async import KlingClient, batch

    async with KlingClient() as client:
        emails = ["a@example.com", "b@example.com"]
        async with batch.iter_pages(client, emails, page_size=40) as pages:
            async for p in pages:
                print(p.email, p.page_num, len(p.works))

A page iterator is entered with ``async with``, then iterated: the block owns its requests,
which stay in flight while the loop body runs, and leaving the block in any way cancels those
still on the wire. Iterating it without ``async with`` raises `TypeError`. docs/batch.md
explains why (PEP 789) and what it costs.

How much runs at once: each account keeps up to ``per_account`` page requests in flight
(pages n .. n + per_account - 1, where n is its next page to deliver), and at most
``concurrency`` requests are in flight across all accounts (clamped to the client's pool size
when known). GET /assets and GET /assets/uploaded report no total, so pages are requested
ahead: an account ends at its first page that is empty or shorter than ``page_size``, and at
most ``per_account - 1`` pages past its end are requested; they are dropped, never yielded.
GET /elements reports its total: `iter_element_pages` asks for each account's first page
alone, then for exactly the pages that exist.

Errors in listings. With ``on_error="raise"`` (the default) the first failed page (after the
client's retries) stops all requests and is raised as the SDK's own error, e.g.
`NotFoundError`, never wrapped in an ExceptionGroup; every earlier page of that account has
been yielded first, and the error's ``email`` and ``page_num`` say which account and page
failed. With ``on_error="continue"`` a failure ends only its account (after its earlier
pages); the others go on, and the iterator's ``failures`` lists a `PageFailure` per failed
account::

    async with batch.iter_pages(client, emails, on_error="continue") as pages:
        async for p in pages:
            ...
    for failure in pages.failures:
        print("stopped", failure.email, "at page", failure.page_num, failure.error)

Chunked calls. IDs are checked before any request (numeric; ``chunk_size`` 1..10), duplicates
are dropped (first occurrence kept), and every remaining ID ends up in exactly one chunk
outcome, succeeded or failed; one failed chunk never hides another's result::

    result = await batch.download(client, work_ids, file_types=["MP4"])
    for chunk in result.chunks:
        print(chunk.ids, chunk.value.cdn_url if chunk.ok else chunk.error)
    result.raise_for_errors()  # BatchError carrying every failed chunk's error and IDs

A chunk is a `ChunkSucceeded` (``ok`` True, ``value`` the call's result) or a `ChunkFailed`
(``ok`` False, ``error``); checking ``chunk.ok`` narrows it for type checkers. IDs in results
have the type of the model field they name: ints for work IDs (`Work.work_id`), strings for
upload IDs (`UploadedAsset.id`), in whichever form they were passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from .._client import KlingClient
from .._exceptions import InvalidInputError
from .._models import AssetsPage, DeleteResult, DownloadResult, UploadsPage
from .._params import (
    MAX_DELETE_IDS,
    canonical_id,
    normalize_file_types,
    normalize_ids,
    positive_int,
)
from .._resources import AssetsListOptions, UploadsListOptions
from .._types import NOT_GIVEN, FileType, NotGiven, TimeoutTypes
from ._chunks import BatchResult, ChunkFailed, ChunkOutcome, ChunkSucceeded, chunked, run_chunks
from ._elements import iter_element_pages
from ._fanout import account_of, clamp_concurrency, fan_out, listed_accounts
from ._pacing import Pacer, make_pacer
from ._pages import AccountPage, ConcurrentPages, OnError, PageFailure
from ._tasks import TaskDeleteBatchResult, delete_tasks, iter_task_pages
from ._uploads import UploadBatchResult, upload

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "MAX_CHUNK_SIZE",
    "AccountPage",
    "BatchResult",
    "ChunkFailed",
    "ChunkOutcome",
    "ChunkSucceeded",
    "ConcurrentPages",
    "DeleteBatchResult",
    "OnError",
    "PageFailure",
    "TaskDeleteBatchResult",
    "UploadBatchResult",
    "delete_tasks",
    "delete_uploaded",
    "download",
    "iter_element_pages",
    "iter_pages",
    "iter_task_pages",
    "iter_upload_pages",
    "upload",
]

MAX_CHUNK_SIZE = MAX_DELETE_IDS
"""The most IDs one chunk (one call) of `download` and `delete_uploaded` carries: 10."""


def iter_pages(
    client: KlingClient,
    emails: Iterable[str] | str | None = None,
    *,
    concurrency: int = 16,
    per_account: int = 4,
    on_error: OnError = "raise",
    max_per_second: float | None = None,
    **options: Unpack[AssetsListOptions],
) -> ConcurrentPages[AssetsPage]:
    """Iterate over the /assets pages of several accounts, fetched concurrently.

    Each item is an `AccountPage` (``email``, ``page_num``, ``page``: the `AssetsPage`;
    ``works``: its works, flattened). Each account's pages come in ascending order as soon as
    a page and all pages before it are in; accounts interleave freely. Empty pages are not
    yielded. Enter the iterator with ``async with``, then iterate (as below): requests stay
    in flight while the loop body runs. See the module docstring for the design, the limits
    and the error modes.

    Args:
        client: the client to send through.
        emails: the accounts to list, or None for the client's default account (a single
            string is one account). Duplicates (in any case) are listed once.
        concurrency: the most requests in flight at once, over all accounts; clamped to the
            client's connection pool when its size is known.
        per_account: the most requests in flight for one account; also bounds the pages
            requested past an account's end (at most ``per_account - 1``).
        on_error: ``"raise"`` (the first failure ends the iteration) or ``"continue"``
            (a failure ends its account only; see `ConcurrentPages.failures`).
        max_per_second: when given, request starts are paced to at most this many a second.
        **options: the listing's options, as for `AssetsResource.iter_pages`
            (`AssetsListOptions`: ``content_type``, ``page_size``, ``sort``, ``timeout``).

    Arguments are checked at once: bad input raises `InvalidInputError` before any request.

    Example::

        async with batch.iter_pages(client, emails, content_type="video") as pages:
            async for p in pages:
                print(p.email, p.page_num, len(p.works))
    """
    sources = [
        (account, client.assets.page_source(email=account, **options))
        for account in listed_accounts(client, emails)
    ]
    return fan_out(client, sources, concurrency, per_account, on_error, max_per_second)


def iter_upload_pages(
    client: KlingClient,
    emails: Iterable[str] | str | None = None,
    *,
    concurrency: int = 16,
    per_account: int = 4,
    on_error: OnError = "raise",
    max_per_second: float | None = None,
    **options: Unpack[UploadsListOptions],
) -> ConcurrentPages[UploadsPage]:
    """Iterate over the /assets/uploaded pages of several accounts, fetched concurrently.

    Each item is an `AccountPage` (``email``, ``page_num``, ``page``: the `UploadsPage`;
    ``assets``: its uploaded files). ``options`` are those of `UploadsListOptions`
    (``content_type``, ``file_name``, ``page_size``, ``sort``, ``timeout``); the other
    arguments, the guarantees and the ``async with`` form are those of `iter_pages`.

    Example::

        async with batch.iter_upload_pages(client, emails) as pages:
            async for p in pages:
                ids = [asset.id for asset in p.assets]
    """
    sources = [
        (account, client.uploads.page_source(email=account, **options))
        for account in listed_accounts(client, emails)
    ]
    return fan_out(client, sources, concurrency, per_account, on_error, max_per_second)


async def download(
    client: KlingClient,
    work_ids: Iterable[int | str] | int | str,
    *,
    file_types: Iterable[FileType | str] | FileType | str | None = None,
    email: str | None = None,
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    chunk_size: int = MAX_DELETE_IDS,
    concurrency: int = 8,
    max_per_second: float | None = None,
) -> BatchResult[DownloadResult, int]:
    """Get download URLs for any number of works: one GET /assets/download per chunk.

    Each succeeded chunk's `DownloadResult` (``value``) holds one ``cdn_url``: a .zip of the
    chunk's works (or the file itself for a one-work chunk with one file type). Failed chunks
    carry their error; `BatchResult.raise_for_errors` turns them into one `BatchError`. Work
    IDs in the result are ints, like `Work.work_id`.

    Args:
        client: the client to send through.
        work_ids: work IDs (ints or numeric strings); duplicates are dropped, first kept.
        file_types: ``MP4``, ``MP3``, ``WAV``, ``PNG`` (None: every type, always a .zip).
        email: the account (None: the client's default).
        timeout: the timeout of each call, instead of the client's.
        chunk_size: work IDs per call, 1..10.
        concurrency: the most calls in flight at once (clamped to the client's pool size).
        max_per_second: when given, call starts are paced to at most this many a second.

    Bad input raises `InvalidInputError` before any request.

    Example::

        result = await batch.download(client, work_ids, file_types="MP4")
        urls = [chunk.value.cdn_url for chunk in result.succeeded]
    """
    ids = tuple(int(id_) for id_ in normalize_ids(work_ids, name="work_ids"))
    types = normalize_file_types(file_types)
    account = account_of(client, email)
    size, limit, pacer = _chunk_settings(client, chunk_size, concurrency, max_per_second)

    async def call(chunk: tuple[int, ...]) -> DownloadResult:
        return await client.assets.download(chunk, file_types=types, email=account, timeout=timeout)

    outcomes = await run_chunks(chunked(ids, size), call, concurrency=limit, pacer=pacer)
    return BatchResult(outcomes)


async def delete_uploaded(
    client: KlingClient,
    ids: Iterable[int | str] | int | str,
    *,
    email: str | None = None,
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    chunk_size: int = MAX_DELETE_IDS,
    concurrency: int = 8,
    max_per_second: float | None = None,
) -> DeleteBatchResult:
    """Delete any number of uploaded files: one DELETE /assets/uploaded per chunk of up to 10.

    Deleted files cannot be recovered. The result tells apart the IDs the server reported
    deleted (``succeeded_ids``), those it was sent but did not report (``unconfirmed_ids``)
    and those whose call failed (``failed_ids``); see `DeleteBatchResult` for what ``ok``
    means here. Upload IDs in the result are numeric strings, like `UploadedAsset.id`.

    Args:
        client: the client to send through.
        ids: upload IDs (ints or numeric strings); duplicates are dropped, first kept.
        email: the account; required unless the client has a default email.
        timeout: the timeout of each call, instead of the client's.
        chunk_size: IDs per call, 1..10.
        concurrency: the most calls in flight at once (clamped to the client's pool size).
        max_per_second: when given, call starts are paced to at most this many a second.

    Bad input (including no email at all) raises `InvalidInputError` before any request.

    Example::

        result = await batch.delete_uploaded(client, ids, email="me@example.com")
        result.raise_for_errors()
        print(len(result.succeeded_ids), "deleted;", result.unconfirmed_ids, "not reported")
    """
    normalized = normalize_ids(ids, name="ids")
    account = account_of(client, email)
    if account is None:
        raise InvalidInputError(
            "delete_uploaded needs the account's email: pass email= or KlingClient(email=...)"
        )
    size, limit, pacer = _chunk_settings(client, chunk_size, concurrency, max_per_second)

    async def call(chunk: tuple[str, ...]) -> DeleteResult:
        return await client.uploads.delete(chunk, email=account, timeout=timeout)

    outcomes = await run_chunks(chunked(normalized, size), call, concurrency=limit, pacer=pacer)
    return DeleteBatchResult(outcomes)


@attrs.frozen
class DeleteBatchResult(BatchResult[DeleteResult, str]):
    """The outcome of `delete_uploaded`: one `ChunkOutcome` per chunk of IDs, in input order.

    Every ID sent is in exactly one of:

    - `succeeded_ids`: the server reported it deleted;
    - `unconfirmed_ids`: its call succeeded but the server did not report it deleted. The
      service does not say why: the ID may not exist (or belong to another account), or may
      already be gone, e.g. deleted by an earlier attempt of a retried call;
    - `failed_ids`: its call failed (the chunk's ``error`` says how).

    ``ok`` means every call succeeded, exactly as `raise_for_errors` sees it; an unconfirmed
    ID is not an error, because the SDK cannot tell "already gone" from "not deleted". Check
    `all_deleted` (or `unconfirmed_ids`) to know that the server confirmed every ID.
    """

    @property
    def succeeded_ids(self) -> tuple[str, ...]:
        """The IDs the server reported deleted, in input order."""
        return self._split()[0]

    @property
    def unconfirmed_ids(self) -> tuple[str, ...]:
        """The IDs sent in successful calls that the server did not report deleted."""
        return self._split()[1]

    def _split(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        confirmed: list[str] = []
        unconfirmed: list[str] = []
        for chunk in self.succeeded:
            deleted = _deleted(chunk)
            for id_ in chunk.ids:
                (confirmed if id_ in deleted else unconfirmed).append(id_)
        return tuple(confirmed), tuple(unconfirmed)

    @property
    def all_deleted(self) -> bool:
        """Whether every call succeeded and the server reported every ID deleted."""
        return self.ok and not self.unconfirmed_ids


def _deleted(chunk: ChunkSucceeded[DeleteResult, str]) -> frozenset[str]:
    """The IDs of a chunk that the server reported deleted.

    IDs are matched in canonical form, and only IDs the chunk sent count. When the server
    gives no ``ids`` list but a ``deleted`` count equal to the number sent, all of them count.
    """
    value = chunk.value
    if not value.ids and value.deleted == len(chunk.ids):
        return frozenset(chunk.ids)
    return frozenset(chunk.ids).intersection(canonical_id(id_) or id_ for id_ in value.ids)


# -- plumbing ---------------------------------------------------------------------------------


def _chunk_settings(
    client: KlingClient, chunk_size: int, concurrency: int, max_per_second: float | None
) -> tuple[int, int, Pacer | None]:
    size = positive_int(chunk_size, "chunk_size")
    if size > MAX_CHUNK_SIZE:
        raise InvalidInputError(f"chunk_size must be at most {MAX_CHUNK_SIZE}, not {size}")
    return size, clamp_concurrency(client, concurrency), make_pacer(max_per_second)
