"""Fetching the pages of several paged listings at once, each listing's pages in order.

The engine knows only `PageSource`s ("fetch page n", "is this page the last"), one per
account; it knows nothing of endpoints or models. `kling_async.batch` builds the sources.

`ConcurrentPages` is a plain async-iterator class, not an async generator, so no task group is
ever held open across a ``yield`` (PEP 789). It is used only inside ``async with``:
``__aenter__`` opens a task group in the caller's frame (entered and left by the caller at the
same level, like any ``async with create_task_group()``) and starts a scheduler task in it,
which keeps the window full: it launches a request as soon as a slot frees up or a delivered
page opens its account's window, round-robin over the accounts, each account keeping pages
``n .. n + per_account - 1`` in flight (``n``: its next page to deliver) and at most
``concurrency`` in flight overall. ``__anext__`` waits for the next deliverable page (or
failure) and returns it while the other requests stay on the wire. ``__aexit__`` cancels
whatever is still running and waits for it; an exception from the loop body leaves the block
unchanged. Iterating without ``async with`` raises `TypeError`: there would be no task group
to run the requests in, and none may be opened across a ``yield``.

With a `Pacer` (``max_per_second``), the scheduler itself holds back launches until the
pacer allows them, so requests start in the order the loop chose and nothing waits in a task.

Accounts end at their first page that is empty or shorter than the page size; pages past it
are dropped when they arrive, never delivered. An account's pages are requested in ascending
order within the window, so at most ``per_account - 1`` pages past the end are requested.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Generic, Literal, Protocol, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup

from .._exceptions import InvalidInputError
from .._pagination import PageSource
from ._pacing import Pacer

__all__ = ["AccountPage", "ConcurrentPages", "OnError", "PageFailure", "check_on_error"]

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)
I_co = TypeVar("I_co", covariant=True)

OnError = Literal["raise", "continue"]
"""What a failed page does: ``"raise"`` ends the iteration with its error; ``"continue"``
ends only its account and records a `PageFailure`."""


class _HasWorks(Protocol[I_co]):
    @property
    def works(self) -> tuple[I_co, ...]: ...


class _HasAssets(Protocol[I_co]):
    @property
    def assets(self) -> tuple[I_co, ...]: ...


class _HasElements(Protocol[I_co]):
    @property
    def elements(self) -> tuple[I_co, ...]: ...


@attrs.frozen
class AccountPage(Generic[P_co]):
    """One page of one account's listing, as delivered by the batch iterators.

    Attributes:
        email: the account the page belongs to (None: the client's default account, when the
            client has no email set).
        page_num: the page's number in that account's listing, from 1.
        page: the decoded page (`AssetsPage` for /assets, `UploadsPage` for /assets/uploaded,
            `ElementsPage` for /elements).
    """

    email: str | None
    page_num: int
    page: P_co

    @property
    def works(self: AccountPage[_HasWorks[I_co]]) -> tuple[I_co, ...]:
        """The page's works, flattened over its history entries (pages of /assets)."""
        return self.page.works

    @property
    def assets(self: AccountPage[_HasAssets[I_co]]) -> tuple[I_co, ...]:
        """The page's uploaded files (pages of /assets/uploaded)."""
        return self.page.assets

    @property
    def elements(self: AccountPage[_HasElements[I_co]]) -> tuple[I_co, ...]:
        """The page's elements (pages of /elements)."""
        return self.page.elements


@attrs.frozen
class PageFailure:
    """A page that could not be fetched, after the client's retries.

    Attributes:
        email: the account whose listing it belongs to.
        page_num: the page's number.
        error: what went wrong, usually an `APIError` (whose ``email`` and ``page_num`` say
            the same).
    """

    email: str | None
    page_num: int
    error: Exception


_ENTER_FIRST = (
    "enter the page iterator with `async with` before iterating it:\n"
    "    async with batch.iter_pages(client, emails) as pages:\n"
    "        async for page in pages:\n"
    "            ..."
)


def check_on_error(on_error: object) -> OnError:
    """Return ``on_error`` when it is ``"raise"`` or ``"continue"``; raise `InvalidInputError`."""
    if on_error == "raise":
        return "raise"
    if on_error == "continue":
        return "continue"
    raise InvalidInputError(f"on_error must be 'raise' or 'continue', not {on_error!r}")


@attrs.frozen
class _Failed:
    error: Exception


class _Account(Generic[P]):
    """One account's listing: what is delivered, buffered, in flight, and where it ends."""

    __slots__ = (
        "done",
        "email",
        "in_flight",
        "limit",
        "lost",
        "next_new",
        "next_page",
        "results",
        "source",
    )

    def __init__(self, email: str | None, source: PageSource[P]) -> None:
        self.email = email
        self.source = source
        self.next_page = 1  # the next page to deliver; every page before it is delivered
        self.next_new = 1  # the lowest page never requested
        self.lost: set[int] = set()  # requested, but cancelled before an answer came
        self.in_flight: set[int] = set()
        self.results: dict[int, P | _Failed] = {}
        # The last page worth having: the first page known to end the listing, or the
        # first failed page (None while neither is known).
        self.limit: int | None = None
        self.done = False

    def page_to_fetch(self, per_account: int) -> int | None:
        """The lowest page this account should request now, or None."""
        if self.done:
            return None
        page_num = min(self.lost) if self.lost else self.next_new
        if page_num >= self.next_page + per_account:
            return None
        if self.limit is not None and page_num > self.limit:
            return None
        if page_num > 1 and not self._may_follow(page_num - 1):
            return None
        return page_num

    def _may_follow(self, before: int) -> bool:
        """Whether a page after ``before`` may be requested yet.

        A sequential (cursor) listing needs page ``before`` in first, and one request at a
        time; a listing that reports its total needs its first page in, which says how many
        pages exist. Any other listing is requested ahead freely.
        """
        arrived = before < self.next_page or before in self.results
        if self.source.sequential:
            return arrived and not self.in_flight
        if self.source.total is not None and self.limit is None:
            return self.next_page > 1 or 1 in self.results
        return True

    def mark_requested(self, page_num: int) -> None:
        if page_num in self.lost:
            self.lost.remove(page_num)
        else:
            self.next_new = page_num + 1
        self.in_flight.add(page_num)

    def store(self, page_num: int, result: P | _Failed) -> None:
        """Keep a page or failure, unless it lies past the end; move the end when it is one."""
        if self.done or page_num < self.next_page or not self._wanted(page_num):
            return
        if isinstance(result, _Failed) or self.source.is_last(result):
            self._end_at(page_num)
        else:
            pages = self.source.page_count(result)
            if pages is not None and pages < page_num:
                return  # past the end its total gives: dropped (a shrinking listing)
            if pages is not None:
                self._end_at(pages)
        self.results[page_num] = result

    def _end_at(self, page_num: int) -> None:
        """The listing ends at ``page_num`` (or earlier): drop what lies past it."""
        if self.limit is None or page_num < self.limit:
            self.limit = page_num
        for later in [n for n in self.results if n > self.limit]:
            del self.results[later]

    def forget(self, page_num: int) -> None:
        """Page ``page_num`` was requested but never answered: ask for it again if needed."""
        if not self.done and page_num >= self.next_page and self._wanted(page_num):
            self.lost.add(page_num)

    def _wanted(self, page_num: int) -> bool:
        return self.limit is None or page_num <= self.limit

    @property
    def ready(self) -> bool:
        """Whether the next page to deliver (or its failure) is in."""
        return not self.done and self.next_page in self.results

    @property
    def failure_reached(self) -> bool:
        """Whether the account's failed page is in, with every page before it."""
        limit = self.limit
        if self.done or limit is None or not isinstance(self.results.get(limit), _Failed):
            return False
        return all(n in self.results for n in range(self.next_page, limit))

    def finish(self) -> None:
        self.done = True
        self.results.clear()
        self.lost.clear()


class ConcurrentPages(AsyncIterator[AccountPage[P]]):
    """An async iterator over the pages of several accounts' listings, fetched concurrently.

    Returned by the listing helpers of `kling_async.batch` (`iter_pages`, `iter_upload_pages`,
    `iter_element_pages`, `iter_task_pages`). Each account's pages come in ascending order;
    accounts interleave.
    Empty pages are skipped.

    Enter it with ``async with``, then iterate; requests stay in flight while the loop body
    runs (the task group lives for the block, opened and closed by the caller)::

        async with batch.iter_pages(client, emails) as pages:
            async for p in pages:
                ...

    Leaving the block in any way (end of the loop, ``break``, an exception, a cancelled
    scope) cancels the requests still on the wire and waits for them; an exception from the
    body comes out unchanged. A page iterator can be entered once. Iterating it without
    ``async with`` raises `TypeError`. `failures` lists the pages that failed.
    """

    def __init__(
        self,
        sources: Sequence[tuple[str | None, PageSource[P]]],
        *,
        concurrency: int,
        per_account: int,
        on_error: OnError = "raise",
        pacer: Pacer | None = None,
    ) -> None:
        self._accounts = [_Account(email, source) for email, source in sources]
        self._concurrency = concurrency
        self._per_account = per_account
        self._on_error = on_error
        self._pacer = pacer
        self._failures: list[PageFailure] = []
        self._in_flight = 0
        # Round-robin starting points, so that no account waits behind the others.
        self._turn = 0
        self._launch_turn = 0
        self._closed = False
        self._running = False
        self._fatal: _Account[P] | None = None
        self._wakeup: anyio.Event | None = None  # wakes the scheduler
        self._entered = False
        self._task_group: TaskGroup | None = None
        self._fetch_scope: anyio.CancelScope | None = None  # the scheduler's requests
        self._scheduler_stopped: anyio.Event | None = None
        self._delivery: anyio.Event | None = None  # wakes a waiting ``__anext__``

    @property
    def failures(self) -> tuple[PageFailure, ...]:
        """Every failed page so far, in the order it was reached.

        With ``on_error="raise"`` the first one is also raised (and ends the iteration); with
        ``"continue"`` each one ends only its own account, after that account's earlier pages
        were delivered.
        """
        return tuple(self._failures)

    @property
    def concurrency(self) -> int:
        """The most page requests in flight at once, over all accounts (after clamping)."""
        return self._concurrency

    @property
    def per_account(self) -> int:
        """The most page requests in flight at once for one account."""
        return self._per_account

    def __aiter__(self) -> ConcurrentPages[P]:
        """Return the iterator itself; `TypeError` outside its ``async with`` block."""
        if not self._entered:
            raise TypeError(_ENTER_FIRST)
        return self

    async def __aenter__(self) -> ConcurrentPages[P]:
        """Start fetching in a task group that lives until the block ends."""
        if self._entered:
            raise RuntimeError("this page iterator was already entered; enter it only once")
        self._entered = True
        self._scheduler_stopped = anyio.Event()
        # The scheduler's shielded scope exists before the scheduler runs, so that `_close`
        # can cancel it at any moment: a cancellation that comes while the block is being
        # entered or before the scheduler's first step still stops it.
        self._fetch_scope = anyio.CancelScope(shield=True)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        # ``start_soon``, not ``start``: were the caller cancelled while ``start`` waits for
        # the task to report, the task would go on into its shield and ``start`` would wait
        # for it forever, shielded too, before `_close` could run.
        tg.start_soon(self._schedule)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        """Cancel the requests still on the wire, wait for them, and end the iteration."""
        tg, stopped = self._task_group, self._scheduler_stopped
        if tg is None or stopped is None:  # pragma: no cover - __aenter__ unwound it already
            return None
        self._task_group = None
        self._close()  # cancels the scheduler and its requests
        tg.cancel_scope.cancel()
        if exc is None or isinstance(exc, anyio.get_cancelled_exc_class()):
            return await tg.__aexit__(exc_type, exc, tb)
        # The task group would wrap the body's exception into an ExceptionGroup. Wait for the
        # scheduler instead (shielded, so that an outer cancellation cannot replace the
        # exception), then close the task group with nothing left in it.
        with anyio.CancelScope(shield=True):
            await stopped.wait()
        await tg.__aexit__(None, None, None)
        return False

    async def __anext__(self) -> AccountPage[P]:
        """Return the next page as soon as it, and every earlier page of its account, is in."""
        if not self._entered:
            raise TypeError(_ENTER_FIRST)
        if self._running:
            raise RuntimeError("this page iterator is already being advanced by another task")
        self._running = True
        try:
            return await self._next()
        finally:
            self._running = False

    async def _next(self) -> AccountPage[P]:
        while True:
            if self._closed:
                raise StopAsyncIteration
            try:
                item = self._pop()
            finally:
                self._wake_scheduler()  # a delivered page opens its account's window
            if item is not None:
                return item
            if all(account.done for account in self._accounts):
                self._close()
                raise StopAsyncIteration
            stopped = self._scheduler_stopped
            if stopped is None or stopped.is_set():  # pragma: no cover - defensive
                self._close()
                raise StopAsyncIteration
            self._delivery = anyio.Event()
            try:
                await self._delivery.wait()
            finally:
                self._delivery = None

    def end_account(self, email: str | None) -> None:
        """Deliver no more pages of the account ``email``; the other accounts go on.

        No further request is started for it, and pages already requested are dropped when
        they arrive.

        For a caller that knows it has seen enough of an account, e.g. the first page of works
        it already has, in a listing that comes newest first.
        """
        for account in self._accounts:
            if account.email == email and not account.done:
                account.finish()
        self._wake_scheduler()
        self._wake_consumer()

    async def aclose(self) -> None:
        """Stop the iteration: cancel the requests on the wire and drop the buffered pages."""
        self._close()

    def _close(self) -> None:
        self._closed = True
        for account in self._accounts:
            account.finish()
        if self._fetch_scope is not None:
            self._fetch_scope.cancel()

    # -- delivering --------------------------------------------------------------------

    def _pop(self) -> AccountPage[P] | None:
        """Take the next deliverable page, or raise / record the next failure in line."""
        if self._fatal is not None:
            return self._pop_from(self._fatal)
        count = len(self._accounts)
        for offset in range(count):
            account = self._accounts[(self._turn + offset) % count]
            item = self._pop_from(account)
            if item is not None:
                self._turn = (self._turn + offset + 1) % count
                return item
        return None

    def _pop_from(self, account: _Account[P]) -> AccountPage[P] | None:
        while account.ready:
            page_num = account.next_page
            result = account.results.pop(page_num)
            account.next_page += 1
            if isinstance(result, _Failed):
                account.finish()
                self._failures.append(PageFailure(account.email, page_num, result.error))
                if self._on_error == "raise":
                    self._close()
                    raise result.error
                return None
            if account.limit is not None and page_num >= account.limit:
                account.finish()
            if account.source.count(result):
                return AccountPage(account.email, page_num, result)
        return None

    # -- fetching ----------------------------------------------------------------------

    async def _schedule(self) -> None:
        """Keep the window full until cancelled (or a failure stops it)."""
        scope = self._fetch_scope
        try:
            # Shielded: only `_close` (from ``__aexit__``, which always calls it) or a failure
            # stops it. An outer cancellation reaches it through the block's body, which it
            # cancels; this way the task ends without an exception of its own, and leaving the
            # task group adds none. The task enters the scope before its first checkpoint, so
            # no cancellation can reach it outside the scope; when `_close` came first, the
            # scope is cancelled already, no account has a page to request, and the first
            # wait ends it.
            assert scope is not None
            with scope:
                async with anyio.create_task_group() as tg:
                    while True:
                        await self._wait_for_change(self._launch(tg))
        finally:
            if self._scheduler_stopped is not None:
                self._scheduler_stopped.set()
            self._wake_consumer()

    async def _wait_for_change(self, pause: float | None) -> None:
        """Wait until a request finishes, a page is delivered, or ``pause`` seconds pass."""
        self._wakeup = anyio.Event()
        try:
            with anyio.move_on_after(math.inf if pause is None else pause):
                await self._wakeup.wait()
        finally:
            self._wakeup = None

    def _wake_scheduler(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _wake_consumer(self) -> None:
        if self._delivery is not None:
            self._delivery.set()

    def _launch(self, tg: TaskGroup) -> float | None:
        """Start requests up to the limits; return the seconds until the pacer allows more."""
        while self._in_flight < self._concurrency:
            wanted = self._next_request()
            if wanted is None:
                return None
            if self._pacer is not None:
                pause = self._pacer.try_start()
                if pause:
                    return pause
            account, page_num = wanted
            account.mark_requested(page_num)
            self._in_flight += 1
            tg.start_soon(self._fetch, account, page_num, tg.cancel_scope)
        return None

    def _next_request(self) -> tuple[_Account[P], int] | None:
        """The next account in turn with a page to request, and that page."""
        count = len(self._accounts)
        for offset in range(count):
            index = (self._launch_turn + offset) % count
            page_num = self._accounts[index].page_to_fetch(self._per_account)
            if page_num is not None:
                self._launch_turn = (index + 1) % count
                return self._accounts[index], page_num
        return None

    async def _fetch(self, account: _Account[P], page_num: int, scope: anyio.CancelScope) -> None:
        answered = False
        try:
            result: P | _Failed
            try:
                result = await account.source.fetch(page_num)
            except Exception as exc:  # cancellation is a BaseException and passes through
                result = _Failed(exc)  # an SDK error says its account and page already
            answered = True
            account.store(page_num, result)
            if self._on_error == "raise" and self._fatal is None and account.failure_reached:
                self._fatal = account
                scope.cancel()  # stop every request: nothing after the failure is needed
        finally:
            account.in_flight.discard(page_num)
            self._in_flight -= 1
            if not answered:
                account.forget(page_num)
            self._wake_scheduler()
            self._wake_consumer()
