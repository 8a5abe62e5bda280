"""Fetching the pages of several paged listings at once, each listing's pages in order.

The engine knows only `PageSource`s ("fetch page n", "is this page the last"), one per
account; it knows nothing of endpoints or models. `kling_async.batch` builds the sources.

How it stays structured (PEP 789): `ConcurrentPages` is a plain async-iterator class, not an
async generator. Each ``__anext__`` call opens its own task group and closes it before it
returns, so between two calls no task runs, no request is on the wire and no cancel scope is
open. That makes every way of stopping early safe on asyncio and trio alike: a ``break``
(with or without ``aclose()``), an exception in the loop body, or a cancelled scope around the
loop, which cancels the one ``__anext__`` in progress and with it that call's requests.

Within one ``__anext__``:

1. A page that is already buffered and next in its account's order is returned at once.
2. Otherwise requests are launched, round-robin over the accounts, each account keeping
   pages ``n .. n + per_account - 1`` in flight (``n``: its next page to deliver) and at most
   ``concurrency`` in flight overall; it waits, topping up as requests finish, until some
   account's next page (or its failure) is in.
3. Then it launches nothing more and waits for the requests already on the wire, buffering
   their pages (or dropping those past an account's end), and returns.

With a `Pacer` (``max_per_second``), the loop itself holds back launches until the pacer
allows them, so requests start in the order the loop chose and nothing waits in a task.

Accounts end at their first page that is empty or shorter than the page size; pages past it
are dropped when they arrive, never delivered. An account's pages are requested in ascending
order within the window, so at most ``per_account - 1`` pages past the end are requested.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from typing import Generic, Literal, Protocol, TypeVar

import anyio
import attrs
from anyio.abc import TaskGroup

from ._exceptions import APIError, InvalidInputError
from ._pacing import Pacer
from ._pagination import PageSource

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


@attrs.frozen
class AccountPage(Generic[P_co]):
    """One page of one account's listing, as delivered by the batch iterators.

    Attributes:
        email: the account the page belongs to (None: the client's default account, when the
            client has no email set).
        page_num: the page's number in that account's listing, from 1.
        page: the decoded page (`AssetsPage` for /assets, `UploadsPage` for /assets/uploaded).
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
        return page_num

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
            self.limit = page_num
            for later in [n for n in self.results if n > page_num]:
                del self.results[later]
        self.results[page_num] = result

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

    Returned by `kling_async.batch.iter_pages` and `kling_async.batch.iter_upload_pages`. Each
    account's pages come in ascending order; accounts interleave. Empty pages are skipped.

    Work happens only inside ``__anext__``: when no buffered page is next in line, it sends
    requests and returns once a page is deliverable *and* the requests already in flight have
    completed (their pages are buffered for the following calls). So a page may wait for the
    slowest request in flight; in exchange nothing runs between two calls, and stopping early
    in any way (``break``, an exception, a cancelled scope) leaves no task or request behind.
    Close it with `aclose` (or ``contextlib.aclosing``) to release the buffered pages at once.

    Attributes:
        failures: every failed page, in the order it was reached. With ``on_error="raise"``
            the first one is also raised (and ends the iteration); with ``"continue"`` each one
            ends only its own account, after that account's earlier pages were delivered.
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
        self._wakeup: anyio.Event | None = None

    @property
    def failures(self) -> tuple[PageFailure, ...]:
        """Every failed page so far, in the order it was reached."""
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
        return self

    async def __anext__(self) -> AccountPage[P]:
        """Return the next deliverable page; see the class docstring for when requests run."""
        if self._running:
            raise RuntimeError("this page iterator is already being advanced by another task")
        self._running = True
        try:
            while True:
                if self._closed:
                    raise StopAsyncIteration
                item = self._pop()
                if item is not None:
                    return item
                if all(account.done for account in self._accounts):
                    self._close()
                    raise StopAsyncIteration
                await self._fetch_until_ready()
        finally:
            self._running = False

    async def aclose(self) -> None:
        """Stop the iteration and drop the buffered pages. Nothing is running to be stopped."""
        self._close()

    def _close(self) -> None:
        self._closed = True
        for account in self._accounts:
            account.finish()

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

    def _anything_ready(self) -> bool:
        return self._fatal is not None or any(account.ready for account in self._accounts)

    # -- fetching ----------------------------------------------------------------------

    async def _fetch_until_ready(self) -> None:
        """Request pages until one is deliverable, then let the requests on the wire finish."""
        async with anyio.create_task_group() as tg:
            try:
                while not self._anything_ready():
                    pause = self._launch(tg)
                    if self._in_flight == 0 and pause is None:  # pragma: no cover - defensive
                        break  # nothing to request or wait for (__anext__ saw accounts left)
                    self._wakeup = anyio.Event()
                    with anyio.move_on_after(math.inf if pause is None else pause):
                        await self._wakeup.wait()
            finally:
                self._wakeup = None
            # Leaving the task group waits for the requests already on the wire.

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
                result = _Failed(_with_context(exc, account.email, page_num))
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
            if self._wakeup is not None:
                self._wakeup.set()


def _with_context(error: Exception, email: str | None, page_num: int) -> Exception:
    """Make sure an `APIError` says which account and page it is about."""
    if isinstance(error, APIError):
        if error.email is None:
            error.email = email
        if error.page_num is None:
            error.page_num = page_num
    return error
