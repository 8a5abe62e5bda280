"""`delete_tasks` and `iter_task_pages`: generation tasks deleted and listed, concurrently."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from .._client import KlingClient
from .._exceptions import TaskNotFoundError
from .._models import TaskDeleteResult, TasksPage
from .._pagination import PageSource
from .._params import normalize_ids
from .._resources import TasksListOptions
from .._resources._tasks import TaskRepeats
from .._types import NOT_GIVEN, NotGiven, TimeoutTypes
from ._chunks import BatchResult, ChunkFailed, run_chunks
from ._fanout import account_of, clamp_concurrency, listed_accounts
from ._pacing import Pacer, make_pacer
from ._pages import AccountPage, ConcurrentPages, OnError, check_on_error

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["TaskDeleteBatchResult", "delete_tasks", "iter_task_pages"]


@attrs.frozen
class TaskDeleteBatchResult(BatchResult[TaskDeleteResult, int]):
    """The outcome of `delete_tasks`: one `ChunkOutcome` per task, in input order.

    Each chunk holds one task: ``chunk.ids == (task_id,)``, an int like `Task.id`. Every task
    is in exactly one of:

    - `deleted_ids`: the server deleted it; its chunk is a `ChunkSucceeded` whose ``value``
      (`TaskDeleteResult`) lists the works deleted with it (all of them: `deleted_work_ids`);
    - `already_gone_ids`: the server had no works of it (`TaskNotFoundError`, its 404 "No
      works found for task N"): deleted before, maybe by an earlier attempt of a retried
      call, or never a task of the account (the service does not tell the two apart). Its
      chunk is a `ChunkFailed` carrying that error, listed in `already_gone`, not in `failed`;
    - `failed_ids`: its call failed in any other way (the chunk's ``error`` says how).

    ``ok`` means no call failed, exactly as `raise_for_errors` sees it: a task already gone
    is not an error, since deleting it again reaches the same end. `all_deleted` tells
    whether this call deleted every task.
    """

    @property
    def failed(self) -> tuple[ChunkFailed[int], ...]:
        """The tasks whose call failed (not those already gone), in input order."""
        return tuple(
            chunk
            for chunk in self.chunks
            if not chunk.ok and not isinstance(chunk.error, TaskNotFoundError)
        )

    @property
    def already_gone(self) -> tuple[ChunkFailed[int], ...]:
        """The tasks the server had no works of (a `TaskNotFoundError` each), in input order."""
        return tuple(
            chunk
            for chunk in self.chunks
            if not chunk.ok and isinstance(chunk.error, TaskNotFoundError)
        )

    @property
    def ok(self) -> bool:
        """Whether no call failed; tasks already gone do not count as failures."""
        return not self.failed

    @property
    def deleted_ids(self) -> tuple[int, ...]:
        """The tasks the server deleted, in input order (the same as `succeeded_ids`)."""
        return self.succeeded_ids

    @property
    def already_gone_ids(self) -> tuple[int, ...]:
        """The tasks the server had no works of, in input order."""
        return tuple(chunk.ids[0] for chunk in self.already_gone)

    @property
    def deleted_work_ids(self) -> tuple[int, ...]:
        """The works the server reported deleted, task after task, in input order."""
        return tuple(work_id for chunk in self.succeeded for work_id in chunk.value.work_ids)

    @property
    def all_deleted(self) -> bool:
        """Whether the server deleted every task in this call (none failed, none gone)."""
        return len(self.succeeded) == len(self.chunks)

    def _failure_message(self, errors: tuple[Exception, ...], failed: tuple[int, ...]) -> str:
        # `raise_for_errors` raises for real failures only: a task already gone is none.
        return (
            f"{len(errors)} of {len(self.chunks)} task deletions failed (tasks "
            f"{', '.join(map(str, failed))}); first error: {errors[0]}"
        )


async def delete_tasks(
    client: KlingClient,
    task_ids: Iterable[int | str] | int | str,
    *,
    email: str | None = None,
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    concurrency: int = 8,
    max_per_second: float | None = None,
) -> TaskDeleteBatchResult:
    """Delete any number of tasks, each with all its works: one DELETE /tasks/{task_id} per task.

    Deleted tasks and works cannot be recovered. The calls run concurrently; 429s and other
    retryable failures are retried by the client's `RetryPolicy`. Every task ends in exactly
    one outcome: deleted (with the work IDs the server reported), already gone, or failed;
    see `TaskDeleteBatchResult`.

    Args:
        client: the client to send through.
        task_ids: task IDs (ints or numeric strings); duplicates are dropped, first kept.
        email: the account (None: the client's default).
        timeout: the timeout of each call, instead of the client's.
        concurrency: the most calls in flight at once (clamped to the client's pool size).
        max_per_second: when given, call starts are paced to at most this many a second.

    Bad input raises `InvalidInputError` before any request.

    Example::

        result = await batch.delete_tasks(client, task_ids)
        result.raise_for_errors()
        print(len(result.deleted_ids), "deleted,", len(result.already_gone_ids), "already gone")
    """
    ids = tuple(int(id_) for id_ in normalize_ids(task_ids, name="task_ids"))
    account = account_of(client, email)
    limit = clamp_concurrency(client, concurrency)
    pacer = make_pacer(max_per_second)

    async def call(chunk: tuple[int, ...]) -> TaskDeleteResult:
        (task_id,) = chunk
        return await client.tasks.delete(task_id, email=account, timeout=timeout)

    outcomes = await run_chunks(tuple((id_,) for id_ in ids), call, concurrency=limit, pacer=pacer)
    return TaskDeleteBatchResult(outcomes)


def iter_task_pages(
    client: KlingClient,
    emails: Iterable[str] | str | None = None,
    *,
    concurrency: int = 16,
    on_error: OnError = "raise",
    max_per_second: float | None = None,
    **options: Unpack[TasksListOptions],
) -> ConcurrentPages[TasksPage]:
    """Iterate over the /tasks pages of several accounts, fetched concurrently.

    Each item is an `AccountPage` (``email``, ``page_num``, ``page``: the `TasksPage`;
    ``works``: its works). ``options`` are those of `TasksListOptions` (``content_type``,
    ``created_after``, ``created_before``, ``page_size``, ``timeout``); the other arguments,
    the guarantees and the ``async with`` form are those of `iter_pages`.

    GET /tasks is cursor-paged: an account's next page can only be asked for once its page
    before is in, so each account has one request in flight at a time, while the accounts
    run concurrently (up to ``concurrency``). There is no ``per_account``. Each task comes
    once: a page leaves out the tasks its account's page before already held, and a page
    left with none is skipped.

    Example::

        async with batch.iter_task_pages(client, emails, content_type="video") as pages:
            async for p in pages:
                ids = [entry.task_id for entry in p.page.history]
    """
    sources = [
        (account, client.tasks.page_source(email=account, **options))
        for account in listed_accounts(client, emails)
    ]
    return _TaskPages(
        sources,
        concurrency=clamp_concurrency(client, concurrency),
        on_error=check_on_error(on_error),
        pacer=make_pacer(max_per_second),
    )


class _TaskPages(ConcurrentPages[TasksPage]):
    """`ConcurrentPages` over task listings, each page without its account's repeats."""

    def __init__(
        self,
        sources: Sequence[tuple[str | None, PageSource[TasksPage]]],
        *,
        concurrency: int,
        on_error: OnError,
        pacer: Pacer | None,
    ) -> None:
        # One request in flight per account: a cursor listing allows no more anyway.
        super().__init__(
            sources, concurrency=concurrency, per_account=1, on_error=on_error, pacer=pacer
        )
        self._repeats = {email: TaskRepeats() for email, _ in sources}

    async def __anext__(self) -> AccountPage[TasksPage]:
        """The next page, without the tasks its account's page before already held."""
        while True:
            item = await super().__anext__()
            page = self._repeats[item.email].clean(item.page)
            if page.history:
                return item if page is item.page else attrs.evolve(item, page=page)
