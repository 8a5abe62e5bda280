"""``client.tasks``: generation tasks, listed (GET /tasks), fetched and deleted.

GET /tasks is cursor-paged: it lists tasks newest first, and the page after one is asked for
with ``createdBefore``, an exclusive bound. Two tasks can share a creation millisecond, and
with the last task's own ``createTime`` as the bound, a task sharing it with the last one of a
page but left for the next page would never be listed. So the next page is asked for with
``createdBefore`` one millisecond past the last task's ``createTime``: it starts again with the
tasks of that millisecond, and the listing leaves out those the page before already held
(`TaskRepeats`). Only a page whose tasks all share one millisecond is followed by a bound at
that millisecond itself (nothing else moves past it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING

import attrs

from .._exceptions import InvalidInputError
from .._models import HistoryEntry, TaskDeleteResult, TaskDetail, TasksPage
from .._pagination import PageSource, cursor_source, iter_pages
from .._params import normalize_content_type, normalize_id, normalize_timestamp, positive_int
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import Requester, Resource, flatten, query
from ._options import TASKS_MAX_PAGE_SIZE, TASKS_PAGE_SIZE, TasksListOptions, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["TaskRepeats", "TasksResource"]


class TasksResource(Resource):
    """Generation tasks: GET /tasks, GET /tasks/{task_id} and DELETE /tasks/{task_id}.

    The listing methods take the options of `TasksListOptions` as keywords
    (``content_type``, ``created_after``, ``created_before``, ``page_size``, ``timeout``), and
    ``email=`` for an account other than the client's default. Task IDs are ints; numeric
    strings are accepted.

    Example::

        async for entry in client.tasks.iter_tasks(content_type="video"):
            print(entry.task_id, [work.work_id for work in entry.works])
        detail = await client.tasks.get(task_id)
        if detail.succeeded:
            await client.tasks.delete(task_id)
    """

    __slots__ = ()

    async def list(
        self, *, email: str | None = None, **options: Unpack[TasksListOptions]
    ) -> TasksPage:
        """Get one page of tasks (GET /tasks), newest first, as the server sent it.

        The newest tasks, or the newest before ``created_before`` or after ``created_after``.
        `iter_pages` and `iter_tasks` go on from page to page.
        """
        return await self._source("tasks.list", email, options).fetch(1)

    def iter_pages(
        self, *, email: str | None = None, **options: Unpack[TasksListOptions]
    ) -> AsyncGenerator[TasksPage, None]:
        """Iterate over every page of tasks, newest first, one request at a time.

        Each task comes once: a page leaves out the tasks the page before it already held,
        and a page left with none is skipped.
        """
        return without_repeats(iter_pages(self._source("tasks.iter_pages", email, options)))

    def iter_tasks(
        self, *, email: str | None = None, **options: Unpack[TasksListOptions]
    ) -> AsyncGenerator[HistoryEntry, None]:
        """Iterate over every task of the account, newest first, each once.

        Each item is a `HistoryEntry`: the `Task` (``task``) with its works (``works``), as
        the listing sends it; `HistoryEntry.task_id` is the task's ID.

        Example::

            async for entry in client.tasks.iter_tasks(created_after=last_run):
                print(entry.task_id, len(entry.works))
        """
        pages = iter_pages(self._source("tasks.iter_tasks", email, options))
        return flatten(without_repeats(pages), _history_of)

    def page_source(
        self, *, email: str | None = None, **options: Unpack[TasksListOptions]
    ) -> PageSource[TasksPage]:
        """The GET /tasks listing as a sequential `PageSource`, for pagers (`kling_async.batch`).

        Its pages are as the server sent them: each but the first starts again with the tasks
        of the millisecond the page before ended on (`iter_pages`, `iter_tasks` and
        `kling_async.batch.iter_task_pages` leave those out). Arguments are checked here, so
        bad input fails before any page is asked for.
        """
        return self._source("tasks.page_source", email, options)

    async def get(
        self,
        task_id: int | str,
        *,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> TaskDetail:
        """Get one task's status, with its works (GET /tasks/{task_id}).

        `TaskDetail.done` and `TaskDetail.succeeded` say whether it is over and how it went.
        A task the account does not have raises `NotFoundError`.
        """
        task = normalize_id(task_id, "task_id")
        params = query(email=self._requester.account(email))
        return await self._requester.request(
            "GET",
            f"/tasks/{task}",
            TaskDetail,
            params=params,
            timeout=timeout,
            context=CallContext(email=params.get("email")),
        )

    async def delete(
        self,
        task_id: int | str,
        *,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> TaskDeleteResult:
        """Delete a task and every work it produced (DELETE /tasks/{task_id}); there is no undo.

        The result lists the deleted works. A task with no works on the account, unknown or
        already deleted (a repeated delete lands here), raises `TaskNotFoundError`, a
        `NotFoundError`. `kling_async.batch.delete_tasks` deletes many, concurrently.
        """
        task = normalize_id(task_id, "task_id")
        params = query(email=self._requester.account(email))
        return await self._requester.request(
            "DELETE",
            f"/tasks/{task}",
            TaskDeleteResult,
            params=params,
            timeout=timeout,
            context=CallContext(email=params.get("email")),
        )

    def _source(
        self, caller: str, email: str | None, options: TasksListOptions
    ) -> PageSource[TasksPage]:
        check_options(options, TasksListOptions, caller)
        page_size = positive_int(
            options.get("page_size", TASKS_PAGE_SIZE), "page_size", most=TASKS_MAX_PAGE_SIZE
        )
        before = normalize_timestamp(options.get("created_before"), "created_before", round_up=True)
        after = normalize_timestamp(options.get("created_after"), "created_after")
        if before is not None and after is not None:
            raise InvalidInputError(
                "created_before and created_after cannot be combined: GET /tasks takes one or "
                "the other"
            )
        params = query(
            email=self._requester.account(email),
            pageSize=page_size,
            contentType=normalize_content_type(options.get("content_type")),
        )
        timeout = options.get("timeout", NOT_GIVEN)
        return _TaskListing(self._requester, params, before, after, timeout).source(page_size)


@attrs.define
class _TaskListing:
    """One GET /tasks listing: its first query, and the cursor that leads from page to page.

    A cursor is the ``createdBefore`` of the page it asks for. Cursors only go down (every
    task of a page lies before the bound it was asked with), so each names one page.
    """

    requester: Requester
    params: dict[str, str]
    before: int | None
    after: int | None
    timeout: TimeoutTypes | NotGiven
    page_nums: dict[int | None, int] = attrs.field(factory=lambda: {None: 1})

    def source(self, page_size: int) -> PageSource[TasksPage]:
        return cursor_source(self.fetch_after, self.next_cursor, _task_count, page_size)

    async def fetch_after(self, cursor: int | None) -> TasksPage:
        page_num = self.page_nums[cursor]
        if cursor is None:  # the first page: the caller's own bound, if any
            bound = query(createdBefore=self.before, createdAfter=self.after)
        else:  # the service takes one bound or the other; `after` is kept here instead
            bound = {"createdBefore": str(cursor)}
        context = CallContext(email=self.params.get("email"), page_num=page_num)
        page = await self.requester.request(
            "GET",
            "/tasks",
            TasksPage,
            params={**self.params, **bound},
            timeout=self.timeout,
            context=context,
        )
        page = self._within_bounds(page, self.before if cursor is None else cursor)
        following = self.next_cursor(page)
        if following is not None:
            self.page_nums[following] = page_num + 1
        return page

    def _within_bounds(self, page: TasksPage, before: int | None) -> TasksPage:
        """``page`` without the tasks outside the bounds asked for (exclusive).

        Past ``after`` is where a listing with ``created_after`` ends (later pages are asked
        for with a cursor alone); at or past the cursor is where a server that ignored it would
        start over. Either leaves a short page, which ends the listing.
        """

        def inside(entry: HistoryEntry) -> bool:
            created = _created(entry)
            if created is None:
                return True
            return (before is None or created < before) and (
                self.after is None or created > self.after
            )

        kept = tuple(entry for entry in page.history if inside(entry))
        return page if len(kept) == len(page.history) else attrs.evolve(page, history=kept)

    @staticmethod
    def next_cursor(page: TasksPage) -> int | None:
        """The ``createdBefore`` of the page after ``page``; None when it cannot be asked for.

        One millisecond past the last task's creation time, so that no task of that
        millisecond is skipped; the time itself when every task of the page shares it (the
        listing cannot page within one millisecond, and would otherwise stand still).
        """
        times = [created for entry in page.history if (created := _created(entry)) is not None]
        if not times:
            return None
        last = times[-1]
        return last if max(times) == last else last + 1


def _created(entry: HistoryEntry) -> int | None:
    """The task's own creation time (not a work's), in ms."""
    return entry.task.create_time if entry.task is not None else None


def _task_count(page: TasksPage) -> int:
    return len(page.history)


def _history_of(page: TasksPage) -> tuple[HistoryEntry, ...]:
    return page.history


class TaskRepeats:
    """Leaves out of each page of a task listing the tasks the page before it already held.

    The pages of GET /tasks overlap by the tasks of one millisecond (see the module's
    docstring); feed it one listing's pages in order.

    Example::

        repeats = TaskRepeats()
        async for page in iter_pages(client.tasks.page_source()):
            fresh = repeats.clean(page)
    """

    __slots__ = ("_before",)

    def __init__(self) -> None:
        self._before: frozenset[int] = frozenset()

    def clean(self, page: TasksPage) -> TasksPage:
        """``page`` without the tasks of the page before (nor a second copy of one of its own)."""
        seen = set(self._before)
        kept: list[HistoryEntry] = []
        for entry in page.history:
            task_id = entry.task_id
            if task_id is not None:
                if task_id in seen:
                    continue
                seen.add(task_id)
            kept.append(entry)
        self._before = frozenset(
            task_id for entry in page.history if (task_id := entry.task_id) is not None
        )
        return page if len(kept) == len(page.history) else attrs.evolve(page, history=tuple(kept))


async def without_repeats(
    pages: AsyncGenerator[TasksPage, None],
) -> AsyncGenerator[TasksPage, None]:
    """The pages of one task listing, in order, each without the tasks of the page before.

    A page left with no task is skipped. Closing it closes ``pages``.
    """
    repeats = TaskRepeats()
    async with aclosing(pages):
        async for page in pages:
            cleaned = repeats.clean(page)
            if cleaned.history:
                yield cleaned
