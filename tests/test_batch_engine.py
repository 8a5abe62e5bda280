"""The fan-out pagination engine and the chunk runner, against in-memory sources (no HTTP)."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from kling_async import APIError, BatchError
from kling_async._pagination import PageSource, cursor_source, iter_pages
from kling_async.batch._chunks import BatchResult, chunked, run_chunks
from kling_async.batch._pacing import Pacer, make_pacer
from kling_async.batch._pages import AccountPage, ConcurrentPages, OnError, PageFailure

Page = tuple[int, ...]


class Boom(Exception):
    """A failure injected into a page fetch."""


@attrs.define
class Tracker:
    """Records every page request and how many were in flight, overall and per account."""

    in_flight: int = 0
    max_in_flight: int = 0
    account_in_flight: dict[str, int] = attrs.Factory(lambda: defaultdict(int))
    account_max: dict[str, int] = attrs.Factory(lambda: defaultdict(int))
    requests: list[tuple[str, int]] = attrs.Factory(list)
    starts: list[float] = attrs.Factory(list)  # anyio.current_time() as each request started
    _waiters: list[tuple[int, anyio.Event]] = attrs.Factory(list)

    def pages_requested(self, email: str) -> list[int]:
        return [page for who, page in self.requests if who == email]

    def record(self, email: str, page_num: int) -> None:
        self.requests.append((email, page_num))
        self.starts.append(anyio.current_time())
        for count, event in self._waiters:
            if len(self.requests) >= count:
                event.set()

    async def wait_for_requests(self, count: int) -> None:
        """Return once ``count`` requests have started."""
        if len(self.requests) < count:
            event = anyio.Event()
            self._waiters.append((count, event))
            await event.wait()


def listing(
    tracker: Tracker,
    email: str,
    total: int,
    page_size: int,
    *,
    delay: Callable[[int], float] = lambda n: 0.0,
    steps: Callable[[int], int] = lambda n: 0,
    failures: dict[int, Exception] | None = None,
) -> tuple[str, PageSource[Page]]:
    """An account whose listing holds entries ``0 .. total - 1``, ``page_size`` per page.

    ``delay`` (seconds) and ``steps`` (checkpoints) per page shuffle completion order;
    ``failures`` maps page numbers to the error their fetch raises.
    """
    failing = failures or {}

    async def fetch(page_num: int) -> Page:
        tracker.record(email, page_num)
        tracker.in_flight += 1
        tracker.account_in_flight[email] += 1
        tracker.max_in_flight = max(tracker.max_in_flight, tracker.in_flight)
        tracker.account_max[email] = max(
            tracker.account_max[email], tracker.account_in_flight[email]
        )
        try:
            if delay(page_num):
                await anyio.sleep(delay(page_num))
            for _ in range(steps(page_num)):
                await anyio.lowlevel.checkpoint()
            if page_num in failing:
                raise failing[page_num]
            start = (page_num - 1) * page_size
            return tuple(range(start, min(total, start + page_size)))
        finally:
            tracker.in_flight -= 1
            tracker.account_in_flight[email] -= 1

    return email, PageSource(fetch=fetch, count=len, page_size=page_size)


def expected_pages(total: int, page_size: int) -> list[int]:
    """The page numbers a listing of ``total`` entries yields (empty pages are not yielded)."""
    return list(range(1, math.ceil(total / page_size) + 1))


def last_page(total: int, page_size: int) -> int:
    """The first page that is empty or short: where the listing ends."""
    return total // page_size + 1


async def collect(pages: ConcurrentPages[Page]) -> list[AccountPage[Page]]:
    async with pages:
        return [page async for page in pages]


def by_account(items: list[AccountPage[Page]]) -> dict[str | None, list[int]]:
    found: dict[str | None, list[int]] = defaultdict(list)
    for item in items:
        found[item.email].append(item.page_num)
    return found


def shuffled(n: int) -> int:
    """Checkpoints for page ``n``: completion order differs from request order."""
    return (7 * n) % 5


def on_mock_clock() -> Any:
    """An ``anyio_backend`` for tests of timing: trio on a `MockClock` that jumps to the next
    deadline whenever every task waits. Time is virtual and exact, however loaded the
    machine: a wait of 0.1 s takes exactly 0.1 s, and no time passes while any task runs."""
    clock = MockClock(autojump_threshold=0)
    return pytest.param(("trio", {"clock": clock}), id="trio-mockclock")


async def expire_when(condition: Callable[[], Any], scope: anyio.CancelScope) -> None:
    """Once ``await condition()`` returns, make ``scope``'s deadline expire: a timeout that
    comes at a chosen point rather than after a guessed delay."""
    await condition()
    scope.deadline = anyio.current_time()


# -- delivery ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_accounts_share_the_slots_round_robin() -> None:
    tracker = Tracker()
    sources = [listing(tracker, f"a{i}@x", 100, 10) for i in range(3)]
    pages = ConcurrentPages(sources, concurrency=3, per_account=3)
    async with pages:
        await pages.__anext__()
    # The first three slots went to page 1 of each account, not to one account's window.
    assert sorted(tracker.requests[:3]) == [("a0@x", 1), ("a1@x", 1), ("a2@x", 1)]


@pytest.mark.anyio
async def test_account_page_offers_works_and_assets_of_its_page() -> None:
    @attrs.frozen
    class FakePage:
        works: tuple[int, ...] = (1, 2)
        assets: tuple[str, ...] = ("a",)

    item = AccountPage("a@x", 3, FakePage())
    assert (item.email, item.page_num) == ("a@x", 3)
    assert item.works == (1, 2)
    assert item.assets == ("a",)


# -- failures ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_failure_past_the_end_is_not_an_error() -> None:
    tracker = Tracker()
    # Page 3 fails before page 2 (empty: the end) arrives.
    sources = [
        listing(tracker, "a@x", 4, 4, steps=lambda n: 5 if n == 2 else 0, failures={3: Boom()})
    ]
    items = await collect(ConcurrentPages(sources, concurrency=8, per_account=4))
    assert [item.page_num for item in items] == [1]


@pytest.mark.anyio
async def test_a_failed_page_is_raised_as_is_and_recorded_with_its_account_and_page() -> None:
    # The engine patches nothing onto errors: the SDK's own page sources raise errors that
    # carry their call context from the request core.
    error = APIError("no context")
    sources = [listing(Tracker(), "a@x", 40, 4, failures={1: error})]
    pages = ConcurrentPages(sources, concurrency=1, per_account=1)
    with pytest.raises(APIError) as raised:
        await collect(pages)
    assert raised.value is error
    assert pages.failures == (PageFailure("a@x", 1, error),)
    assert (error.email, error.page_num) == (None, None)


# -- stopping and resuming ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_two_tasks_cannot_advance_one_iterator_at_once() -> None:
    fetching = anyio.Event()

    async def fetch(page_num: int) -> Page:
        fetching.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    source = PageSource(fetch=fetch, count=len, page_size=40)
    async with (
        ConcurrentPages([("a@x", source)], concurrency=4, per_account=4) as pages,
        anyio.create_task_group() as tg,
    ):
        advancing = anyio.Event()

        async def advance() -> None:
            advancing.set()
            await pages.__anext__()  # runs up to its wait for a page before this task yields

        tg.start_soon(advance)
        await fetching.wait()
        await advancing.wait()  # the first call now waits for its page
        with pytest.raises(RuntimeError, match="already"):
            await pages.__anext__()
        tg.cancel_scope.cancel()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio", on_mock_clock()])
async def test_pacer_spaces_starts_evenly(anyio_backend: Any) -> None:
    pacer = make_pacer(50)
    assert pacer is not None
    starts: list[float] = []

    async def start() -> None:
        await pacer.wait()
        starts.append(pacer.last_start or 0.0)  # the start this call was let go at

    begin = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(start)
    elapsed = anyio.current_time() - begin

    # One start every interval, the first at once: never closer (a float's rounding aside),
    # so five starts span at least four intervals of the clock the callers see.
    assert begin <= starts[0]
    assert all(b - a >= pacer.interval * (1 - 1e-9) for a, b in itertools.pairwise(starts))
    assert elapsed >= 4 * pacer.interval * (1 - 1e-9)
    if isinstance(anyio_backend, tuple):  # on the mock clock's virtual time: exactly so
        assert starts == pytest.approx([begin + k * pacer.interval for k in range(5)])
        assert elapsed == pytest.approx(4 * pacer.interval)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", [on_mock_clock()])
async def test_paced_requests_start_exactly_one_interval_apart() -> None:
    tracker = Tracker()
    pacer = Pacer(10.0)  # starts 100 ms apart
    pages = ConcurrentPages(
        [listing(tracker, "a@x", 100, 4)], concurrency=4, per_account=4, pacer=pacer
    )
    begin = anyio.current_time()
    async with pages:
        assert [item.page_num async for item in pages] == expected_pages(100, 4)
    elapsed = anyio.current_time() - begin

    count = len(tracker.requests)
    assert last_page(100, 4) <= count < last_page(100, 4) + 4  # up to per_account - 1 past the end
    # Measured where the requests start, on virtual time: exactly one interval apart, the first
    # at once, and nothing waits for the pacer once the last page is in.
    assert tracker.starts == pytest.approx([begin + k * pacer.interval for k in range(count)])
    assert elapsed == pytest.approx((count - 1) * pacer.interval)


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan"), True, "5"])
def test_pacer_rejects_anything_but_a_positive_rate(bad: object) -> None:
    with pytest.raises(ValueError, match="max_per_second"):
        make_pacer(bad)  # type: ignore[arg-type]


# -- fetching while the body runs ----------------------------------------------------------------


def gated(
    tracker: Tracker, email: str, total: int, page_size: int, done: dict[int, anyio.Event]
) -> tuple[str, PageSource[Page]]:
    """Like `listing`, and ``done[n]`` is set once page ``n``'s fetch has completed."""
    _, inner = listing(tracker, email, total, page_size)

    async def fetch(page_num: int) -> Page:
        page = await inner.fetch(page_num)
        if page_num in done:
            done[page_num].set()
        return page

    return email, PageSource(fetch=fetch, count=len, page_size=page_size)


@pytest.mark.anyio
async def test_yields_each_accounts_pages_in_order_exactly_once() -> None:
    tracker = Tracker()

    def slow_first(n: int) -> int:
        return 20 - n

    sources = [
        listing(tracker, "empty@x", 0, 4, steps=slow_first),
        listing(tracker, "exact@x", 12, 4, steps=slow_first),
        listing(tracker, "partial@x", 13, 4, steps=slow_first),
    ]
    items = await collect(ConcurrentPages(sources, concurrency=5, per_account=3))

    assert by_account(items) == {"exact@x": [1, 2, 3], "partial@x": [1, 2, 3, 4]}
    assert [item.page[0] for item in items] == [(item.page_num - 1) * 4 for item in items]
    assert [len(item.page) for item in items if item.email == "partial@x"] == [4, 4, 4, 1]
    assert tracker.in_flight == 0


@pytest.mark.anyio
async def test_keeps_fetching_while_the_body_holds_a_page() -> None:
    tracker = Tracker()
    done = {5: anyio.Event(), 6: anyio.Event()}
    pages = ConcurrentPages([gated(tracker, "a@x", 100, 4, done)], concurrency=2, per_account=4)
    async with pages:
        first = await pages.__anext__()
        assert first.page_num == 1
        # Page 1 delivered opens the window to pages 2..5, fetched without another __anext__.
        with anyio.fail_after(5):
            await done[5].wait()
        assert sorted(tracker.pages_requested("a@x")) == [1, 2, 3, 4, 5]
        assert not done[6].is_set()  # and not past it: the window is the back-pressure
        assert [item.page_num for item in [await pages.__anext__() for _ in range(4)]] == [
            2,
            3,
            4,
            5,
        ]
    assert tracker.in_flight == 0


@pytest.mark.anyio
async def test_in_flight_stays_within_concurrency_and_per_account() -> None:
    tracker = Tracker()
    sources = [listing(tracker, f"a{i}@x", 40, 2, steps=lambda n: 2) for i in range(2)]
    await collect(ConcurrentPages(sources, concurrency=5, per_account=3))

    assert tracker.max_in_flight == 5
    assert max(tracker.account_max.values()) == 3


@pytest.mark.anyio
@pytest.mark.parametrize(("total", "per_account"), [(0, 4), (8, 4), (9, 4), (9, 1), (100, 7)])
async def test_pages_past_the_end_stay_below_per_account(total: int, per_account: int) -> None:
    tracker = Tracker()
    sources = [listing(tracker, "a@x", total, 4, steps=shuffled)]
    pages = ConcurrentPages(sources, concurrency=16, per_account=per_account)
    items = await collect(pages)

    requested = tracker.pages_requested("a@x")
    assert [item.page_num for item in items] == expected_pages(total, 4)
    assert len(requested) == len(set(requested))
    assert max(requested) - last_page(total, 4) < per_account


@pytest.mark.anyio
async def test_raise_mode_yields_earlier_pages_then_raises_the_error_itself() -> None:
    tracker = Tracker()
    boom = Boom("page 3")
    failing = listing(
        tracker, "bad@x", 40, 4, steps=lambda n: 0 if n == 3 else 5, failures={3: boom}
    )
    pages = ConcurrentPages([failing], concurrency=8, per_account=4)
    seen: list[int] = []

    async def consume() -> None:
        async with pages:
            async for item in pages:
                seen.append(item.page_num)

    with pytest.raises(Boom) as raised:
        await consume()
    assert raised.value is boom
    assert seen == [1, 2]
    assert pages.failures == (PageFailure("bad@x", 3, boom),)
    assert tracker.in_flight == 0
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()


@pytest.mark.anyio
async def test_raise_mode_cancels_requests_still_on_the_wire() -> None:
    tracker = Tracker()
    error = APIError("no context")
    sources = [
        listing(tracker, "slow@x", 40, 4, delay=lambda n: 10.0),
        listing(tracker, "bad@x", 40, 4, failures={1: error}),
    ]
    pages = ConcurrentPages(sources, concurrency=8, per_account=2)
    with anyio.fail_after(5):
        with pytest.raises(APIError) as raised:
            async with pages:
                # The failure ends the iteration before the body is done with it.
                assert await pages.__anext__() is None  # pragma: no cover
    assert type(raised.value) is APIError
    assert raised.value is error
    assert pages.failures == (PageFailure("bad@x", 1, error),)
    assert tracker.in_flight == 0


@pytest.mark.anyio
async def test_continue_mode_ends_only_the_failed_account() -> None:
    tracker = Tracker()
    boom = Boom()
    sources = [
        listing(tracker, "bad@x", 40, 4, failures={2: boom}),
        listing(tracker, "good@x", 10, 4),
    ]
    pages = ConcurrentPages(sources, concurrency=8, per_account=4, on_error="continue")
    items = await collect(pages)

    assert by_account(items) == {"bad@x": [1], "good@x": [1, 2, 3]}
    assert pages.failures == (PageFailure("bad@x", 2, boom),)


@pytest.mark.anyio
async def test_an_ended_account_delivers_no_more_pages_and_the_others_go_on() -> None:
    tracker = Tracker()
    sources = [listing(tracker, "stop@x", 400, 4), listing(tracker, "all@x", 40, 4)]
    pages = ConcurrentPages(sources, concurrency=4, per_account=2)
    delivered: list[tuple[str | None, int]] = []
    async with pages:
        async for item in pages:
            delivered.append((item.email, item.page_num))
            if item.email == "stop@x" and item.page_num == 2:
                pages.end_account("stop@x")
    assert [n for email, n in delivered if email == "stop@x"] == [1, 2]
    assert [n for email, n in delivered if email == "all@x"] == expected_pages(40, 4)
    # Started before the end: at most the window past page 2, never the rest of 100 pages.
    assert max(tracker.pages_requested("stop@x")) <= 2 + 2
    assert tracker.in_flight == 0


@pytest.mark.anyio
@pytest.mark.parametrize("outer_cancel_too", [False, True])
async def test_body_exception_comes_out_unchanged(outer_cancel_too: bool) -> None:
    tracker = Tracker()
    error = KeyError("stop here")
    sources = [
        listing(tracker, f"a{i}@x", 100, 4, delay=lambda n: 10.0 * (n > 1)) for i in range(3)
    ]

    async def fail_in_body() -> None:
        with anyio.CancelScope() as scope:
            async with ConcurrentPages(sources, concurrency=6, per_account=2) as pages:
                async for _ in pages:
                    if outer_cancel_too:
                        scope.cancel()  # the cancellation must not replace the exception
                    raise error

    with pytest.raises(KeyError) as raised:
        await fail_in_body()
    assert raised.value is error
    assert tracker.in_flight == 0


@pytest.mark.anyio
async def test_outer_cancellation_stops_everything() -> None:
    tracker = Tracker()
    sources = [
        listing(tracker, f"a{i}@x", 100, 4, delay=lambda n: 10.0 * (n > 1)) for i in range(3)
    ]
    pages = ConcurrentPages(sources, concurrency=6, per_account=2)
    with anyio.CancelScope() as scope:
        async with pages:
            async for _ in pages:
                scope.cancel()
    assert scope.cancelled_caught
    assert tracker.in_flight == 0
    requested = len(tracker.requests)
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()
    assert len(tracker.requests) == requested


CANCEL_AT = [("deadline", 0.0), ("deadline", 1e-4), *[("checkpoints", n) for n in range(40)]]


@pytest.mark.anyio
async def test_block_cancelled_at_any_point_ends_promptly_with_nothing_running() -> None:
    """Cancelled by a deadline that expires while entering, or after 0, 1, 2, ... checkpoints of
    a task running beside the block (which sweeps the cancellation across entering, the first
    requests, deliveries and the body), the block ends at once and stops every request."""

    async def cancel_after(checkpoints: int, scope: anyio.CancelScope) -> None:
        for _ in range(checkpoints):
            await anyio.lowlevel.checkpoint()
        scope.cancel()

    hung: list[tuple[str, float]] = []

    async def close_after(seconds: float, pages: ConcurrentPages[Page]) -> None:
        # Last resort against a hang behind a shield, which no deadline gets through: note it,
        # and close the iterator (which cancels its shielded requests), so the test can fail.
        await anyio.sleep(seconds)
        hung.append((kind, when))
        await pages.aclose()

    for kind, when in CANCEL_AT:
        tracker = Tracker()
        sources = [listing(tracker, f"a{i}@x", 40, 4, steps=lambda n: n % 3) for i in range(3)]
        pages = ConcurrentPages(sources, concurrency=4, per_account=2)
        async with anyio.create_task_group() as guard:
            guard.start_soon(close_after, 10, pages)
            with anyio.fail_after(10), anyio.CancelScope() as scope:
                if kind == "deadline":
                    scope.deadline = anyio.current_time() + when
                else:
                    guard.start_soon(cancel_after, int(when), scope)
                async with pages:
                    async for _ in pages:
                        await anyio.lowlevel.checkpoint()
            guard.cancel_scope.cancel()
        assert not hung, "the block hung until the iterator was closed from outside"
        assert tracker.in_flight == 0, (kind, when)
        requested = len(tracker.requests)
        with pytest.raises(StopAsyncIteration):
            await pages.__anext__()
        assert len(tracker.requests) == requested


@pytest.mark.anyio
async def test_timeout_around_the_block_stops_hanging_requests() -> None:
    tracker = Tracker()
    sources = [listing(tracker, f"a{i}@x", 100, 4, delay=lambda n: math.inf) for i in range(3)]
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                # The timeout expires once the 4 requests (concurrency) are on the wire.
                tg.start_soon(expire_when, lambda: tracker.wait_for_requests(4), scope)
                async with ConcurrentPages(sources, concurrency=4, per_account=2) as pages:
                    async for _ in pages:
                        pass  # pragma: no cover - nothing ever arrives
    assert scope.cancelled_caught
    assert len(tracker.requests) == 4
    assert tracker.in_flight == 0


@pytest.mark.anyio
async def test_break_stops_everything_and_ends_the_iteration() -> None:
    tracker = Tracker()
    sources = [listing(tracker, f"a{i}@x", 100, 4, steps=lambda n: n % 3) for i in range(3)]
    pages = ConcurrentPages(sources, concurrency=6, per_account=3)
    async with pages:
        async for _ in pages:
            break
    assert tracker.in_flight == 0
    requested = len(tracker.requests)
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()
    await pages.aclose()
    assert len(tracker.requests) == requested


@pytest.mark.anyio
async def test_aclose_inside_the_block_cancels_the_requests() -> None:
    tracker = Tracker()
    sources = [listing(tracker, "a@x", 100, 4, delay=lambda n: 10.0 * (n > 1))]
    with anyio.fail_after(5):
        async with ConcurrentPages(sources, concurrency=4, per_account=4) as pages:
            assert (await pages.__anext__()).page_num == 1
            await pages.aclose()
            with pytest.raises(StopAsyncIteration):
                await pages.__anext__()
    assert tracker.in_flight == 0


@pytest.mark.anyio
async def test_a_page_iterator_is_entered_once() -> None:
    sources = [listing(Tracker(), "a@x", 40, 4)]
    pages = ConcurrentPages(sources, concurrency=4, per_account=4)
    async with pages:
        with pytest.raises(RuntimeError, match="already entered"):
            await pages.__aenter__()
    with pytest.raises(RuntimeError, match="already entered"):
        await pages.__aenter__()


@pytest.mark.anyio
async def test_iterating_without_async_with_is_a_type_error_showing_the_right_form() -> None:
    tracker = Tracker()
    pages = ConcurrentPages([listing(tracker, "a@x", 40, 4)], concurrency=4, per_account=4)

    async def plain_loop() -> None:
        async for _ in pages:
            raise AssertionError("no page may come")

    with pytest.raises(TypeError, match=r"(?s)async with batch\.iter_pages\(.*async for"):
        await plain_loop()
    with pytest.raises(TypeError, match="async with"):
        await pages.__anext__()
    assert tracker.requests == []
    # Still usable the right way afterwards.
    assert [item.page_num for item in await collect(pages)] == expected_pages(40, 4)


@pytest.mark.anyio
async def test_pacing_holds_back_launches() -> None:
    tracker = Tracker()
    pacer = Pacer(1e-3)  # starts 1000 s apart: the second never comes during the test
    sources = [listing(tracker, "a@x", 100, 4)]
    with anyio.fail_after(5):  # a ready page does not wait for the pacer, nor does leaving
        async with ConcurrentPages(sources, concurrency=4, per_account=4, pacer=pacer) as pages:
            item = await pages.__anext__()
            assert item.page_num == 1
            assert tracker.requests == [("a@x", 1)]


# -- listings that report their total, and cursor listings --------------------------------------


def with_total(source: tuple[str, PageSource[Page]], total: int) -> tuple[str, PageSource[Page]]:
    """The same listing, whose every page says it holds ``total`` entries in all."""
    email, inner = source
    return email, attrs.evolve(inner, total=lambda page: total)


@pytest.mark.anyio
@pytest.mark.parametrize("total", [0, 1, 7, 8, 9, 40, 41])
async def test_a_listing_with_a_total_is_asked_for_exactly_the_pages_that_exist(
    total: int,
) -> None:
    tracker = Tracker()
    sources = [with_total(listing(tracker, "a@x", total, 8, steps=shuffled), total)]
    items = await collect(ConcurrentPages(sources, concurrency=16, per_account=4))

    pages = max(1, math.ceil(total / 8))
    assert [item.page_num for item in items] == expected_pages(total, 8)
    assert sorted(tracker.pages_requested("a@x")) == list(range(1, pages + 1))  # none past the end
    assert tracker.requests[0] == ("a@x", 1)  # page 1 alone first: it says how many there are
    assert tracker.account_max["a@x"] <= 4


@pytest.mark.anyio
async def test_several_accounts_with_totals_request_no_page_twice_and_none_past_the_end() -> None:
    tracker = Tracker()
    totals = {"a@x": 33, "b@x": 0, "c@x": 16}
    sources = [with_total(listing(tracker, e, n, 4, steps=shuffled), n) for e, n in totals.items()]
    items = await collect(ConcurrentPages(sources, concurrency=6, per_account=3))

    assert by_account(items) == {e: expected_pages(n, 4) for e, n in totals.items() if n}
    for email, total in totals.items():
        requested = tracker.pages_requested(email)
        assert sorted(requested) == list(range(1, max(1, math.ceil(total / 4)) + 1))
    assert tracker.max_in_flight <= 6


def cursor_listing(
    tracker: Tracker, email: str, total: int, page_size: int, *, steps: int = 0
) -> tuple[str, PageSource[Page]]:
    """Entries ``total - 1`` down to 0, newest first; a page's cursor is its last entry."""

    async def fetch_after(cursor: int | None) -> Page:
        tracker.record(email, -1 if cursor is None else cursor)
        tracker.in_flight += 1
        tracker.account_in_flight[email] += 1
        tracker.max_in_flight = max(tracker.max_in_flight, tracker.in_flight)
        tracker.account_max[email] = max(
            tracker.account_max[email], tracker.account_in_flight[email]
        )
        try:
            for _ in range(steps):
                await anyio.lowlevel.checkpoint()
            top = total if cursor is None else cursor
            return tuple(range(top - 1, max(-1, top - 1 - page_size), -1))
        finally:
            tracker.in_flight -= 1
            tracker.account_in_flight[email] -= 1

    def next_cursor(page: Page) -> int | None:
        return page[-1] if page else None

    return email, cursor_source(fetch_after, next_cursor, len, page_size)


@pytest.mark.anyio
async def test_cursor_listings_are_sequential_per_account_and_concurrent_across() -> None:
    tracker = Tracker()
    totals = {"a@x": 23, "b@x": 20, "c@x": 0}
    sources = [cursor_listing(tracker, e, n, 5, steps=1) for e, n in totals.items()]
    items = await collect(ConcurrentPages(sources, concurrency=8, per_account=4))

    for email, total in totals.items():
        entries = [entry for item in items if item.email == email for entry in item.page]
        assert entries == list(range(total - 1, -1, -1)), email  # every entry once, in order
        assert tracker.account_max[email] == 1  # sequential within the account
    assert tracker.max_in_flight == 3  # the accounts ran at once
    # The cursors are the last entry of each page; b@x's full last page ends its listing
    # with one more (empty) request, as the service gives no "has more" flag.
    assert tracker.pages_requested("a@x") == [-1, 18, 13, 8, 3]
    assert tracker.pages_requested("b@x") == [-1, 15, 10, 5, 0]


@pytest.mark.anyio
async def test_iter_pages_stops_at_the_page_count_a_total_gives() -> None:
    tracker = Tracker()
    _, source = with_total(listing(tracker, "a@x", 16, 8), 16)
    pages = [page async for page in iter_pages(source)]
    assert [len(page) for page in pages] == [8, 8]
    assert tracker.pages_requested("a@x") == [1, 2]  # not the empty page 3


# -- the exactly-once invariant, as a property --------------------------------------------------

accounts_strategy = st.lists(
    st.tuples(
        st.integers(0, 30),  # entries
        st.lists(st.integers(0, 6), min_size=12, max_size=12),  # checkpoints per page
        st.sets(st.integers(1, 12), max_size=2),  # failing pages
    ),
    min_size=1,
    max_size=4,
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    accounts=accounts_strategy,
    page_size=st.integers(1, 6),
    concurrency=st.integers(1, 6),
    per_account=st.integers(1, 4),
    on_error=st.sampled_from(["raise", "continue"]),
)
def test_every_page_is_delivered_once_in_order_up_to_the_first_failure(
    backend: str,
    accounts: list[tuple[int, list[int], set[int]]],
    page_size: int,
    concurrency: int,
    per_account: int,
    on_error: OnError,
) -> None:
    tracker = Tracker()
    boom = {n: Boom(n) for n in range(1, 13)}
    sources = []
    for index, (total, steps, failing) in enumerate(accounts):
        sources.append(
            listing(
                tracker,
                f"a{index}@x",
                total,
                page_size,
                steps=lambda n, steps=steps: steps[(n - 1) % len(steps)],  # type: ignore[misc]
                failures={n: boom[n] for n in failing},
            )
        )

    async def run() -> tuple[list[AccountPage[Page]], BaseException | None, ConcurrentPages[Page]]:
        pages = ConcurrentPages(
            sources, concurrency=concurrency, per_account=per_account, on_error=on_error
        )
        items: list[AccountPage[Page]] = []
        try:
            async with pages:
                async for item in pages:
                    items.append(item)
        except Boom as exc:
            return items, exc, pages
        return items, None, pages

    items, raised, pages = anyio.run(run, backend=backend)

    assert tracker.in_flight == 0
    assert tracker.max_in_flight <= concurrency
    delivered = by_account(items)
    failed_at = {failure.email: failure.page_num for failure in pages.failures}
    for index, (total, _, failing) in enumerate(accounts):
        email = f"a{index}@x"
        end = last_page(total, page_size)
        requested = tracker.pages_requested(email)
        assert not requested or max(requested) - end < per_account
        assert tracker.account_max[email] <= per_account
        real_failures = sorted(n for n in failing if n <= end)
        first_failure = real_failures[0] if real_failures else None
        full = expected_pages(total, page_size)
        if first_failure is not None:
            full = [n for n in full if n < first_failure]
        got = delivered.get(email, [])
        if on_error == "continue" or raised is None:
            assert got == full
            assert failed_at.get(email) == first_failure
        else:
            assert got == full[: len(got)]  # a prefix: the failure may have come first
            if email in failed_at:
                assert got == full
                assert failed_at[email] == first_failure
    if on_error == "raise":
        assert len(pages.failures) == (1 if raised is not None else 0)
        if raised is not None:
            assert raised is pages.failures[0].error


# -- chunks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "size", "lengths"),
    [(1, 10, [1]), (10, 10, [10]), (11, 10, [10, 1]), (1000, 10, [10] * 100), (7, 3, [3, 3, 1])],
)
def test_chunked_splits_in_order(count: int, size: int, lengths: list[int]) -> None:
    ids = [str(n) for n in range(count)]
    chunks = chunked(ids, size)
    assert [len(chunk) for chunk in chunks] == lengths
    assert [id_ for chunk in chunks for id_ in chunk] == ids


@pytest.mark.anyio
async def test_run_chunks_keeps_going_past_failures_and_keeps_input_order() -> None:
    async def call(ids: tuple[str, ...]) -> int:
        for _ in range(int(ids[0]) % 3):  # chunks finish out of order
            await anyio.lowlevel.checkpoint()
        if "3" in ids:
            raise Boom(ids)
        return len(ids)

    chunks = chunked([str(n) for n in range(10)], 2)
    outcomes = await run_chunks(chunks, call, concurrency=3)
    result = BatchResult(outcomes)

    assert [outcome.ids for outcome in outcomes] == list(chunks)
    assert [outcome.ok for outcome in outcomes] == [True, False, True, True, True]
    assert result.failed_ids == ("2", "3")
    assert result.succeeded_ids == ("0", "1", "4", "5", "6", "7", "8", "9")
    with pytest.raises(BatchError) as raised:
        result.raise_for_errors()
    assert raised.value.failed_ids == ("2", "3")
    assert [type(error) for error in raised.value.errors] == [Boom]


@pytest.mark.anyio
async def test_run_chunks_is_cancelled_with_its_caller() -> None:
    started = 0
    all_started = anyio.Event()

    async def call(ids: tuple[str, ...]) -> None:
        nonlocal started
        started += 1
        if started == 4:
            all_started.set()
        await anyio.sleep_forever()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                tg.start_soon(expire_when, all_started.wait, scope)  # a timeout, once all run
                await run_chunks(chunked([str(n) for n in range(100)], 10), call, concurrency=4)
    assert scope.cancelled_caught
    assert started == 4


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(1, 60),
    size=st.integers(1, 10),
    concurrency=st.integers(1, 8),
    failing=st.sets(st.integers(0, 59)),
    steps=st.lists(st.integers(0, 5), min_size=1, max_size=8),
)
def test_every_id_is_in_exactly_one_outcome(
    backend: str, count: int, size: int, concurrency: int, failing: set[int], steps: list[int]
) -> None:
    ids = [str(n) for n in range(count)]
    in_flight = max_in_flight = 0

    async def call(chunk: tuple[str, ...]) -> tuple[str, ...]:
        nonlocal in_flight, max_in_flight
        in_flight += 1
        max_in_flight = max(max_in_flight, in_flight)
        try:
            for _ in range(steps[int(chunk[0]) % len(steps)]):
                await anyio.lowlevel.checkpoint()
            if any(int(id_) in failing for id_ in chunk):
                raise Boom(chunk)
            return chunk
        finally:
            in_flight -= 1

    async def run() -> BatchResult[tuple[str, ...], str]:
        return BatchResult(await run_chunks(chunked(ids, size), call, concurrency=concurrency))

    result = anyio.run(run, backend=backend)

    assert max_in_flight <= concurrency
    assert list(result.ids) == ids
    assert sorted(result.succeeded_ids + result.failed_ids, key=int) == ids
    assert not set(result.succeeded_ids) & set(result.failed_ids)
    for outcome in result.chunks:
        if outcome.ok:
            assert outcome.value == outcome.ids
        else:
            assert isinstance(outcome.error, Boom)
        assert outcome.ok != any(int(id_) in failing for id_ in outcome.ids)
    assert len(result.succeeded) + len(result.failed) == len(result.chunks)
    assert set(map(id, result.succeeded)) | set(map(id, result.failed)) == set(
        map(id, result.chunks)
    )
    assert result.ok == (not result.failed_ids)
