"""`batch.iter_pages` and `batch.iter_upload_pages` over real loopback HTTP (FakeKlingServer)."""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest

from kling_async import (
    BadRequestError,
    InvalidInputError,
    KlingClient,
    NotFoundError,
    ResponseValidationError,
    batch,
)
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest

NOBODY = "nobody@example.com"

pytestmark = [
    pytest.mark.fake(accounts=3, works_per_account=120, seed=0),
    pytest.mark.client(email=None),
]


async def settled(client: KlingClient) -> None:
    """Return once every task waits and no request of ``client`` is in flight: a request the
    SDK launched by then would hold one of the client's pool slots."""
    while True:
        await all_tasks_blocked()
        if client._pool_slots.borrowed_tokens == 0:
            return


async def all_tasks_blocked() -> None:
    """`anyio.wait_all_tasks_blocked`, except that on asyncio a task waiting on something other
    than a Future counts as blocked too: on Python 3.10, hypercorn's TaskGroup backport makes
    its tasks wait on its own objects, which anyio's version cannot inspect."""
    try:
        this_task = asyncio.current_task()
    except RuntimeError:  # trio
        await anyio.wait_all_tasks_blocked()
        return

    def blocked(task: asyncio.Task[Any]) -> bool:
        waiter = getattr(task, "_fut_waiter", None)
        return waiter is not None and not (isinstance(waiter, asyncio.Future) and waiter.done())

    await anyio.lowlevel.checkpoint()
    while True:
        if all(task is this_task or blocked(task) for task in asyncio.all_tasks()):
            return
        await anyio.sleep(0.01)  # polled, as anyio's own version does


async def expire_when(condition: Callable[[], Awaitable[object]], scope: anyio.CancelScope) -> None:
    """Once ``await condition()`` returns, make ``scope``'s deadline expire: a timeout that
    comes at a chosen point rather than after a guessed delay."""
    await condition()
    scope.deadline = anyio.current_time()


def listing_requests(fake: FakeKlingServer, path: str = "/assets") -> list[RecordedRequest]:
    return [r for r in fake.requests if r.api_path == path and r.method == "GET"]


def pages_requested(fake: FakeKlingServer, email: str, path: str = "/assets") -> list[int]:
    return [int(r.query["pageNum"]) for r in listing_requests(fake, path) if r.email == email]


async def drain(pages: batch.ConcurrentPages[Any]) -> list[batch.AccountPage[Any]]:
    """Every page of ``pages``, closing it afterwards."""
    async with pages:
        return [p async for p in pages]


def checked_out_connections(client: KlingClient) -> int:
    """Connections of the client's pool that are in the middle of a request (either transport)."""
    transport = client._http._transport  # type: ignore[attr-defined]
    pool = getattr(transport, "_pool", None)
    if pool is not None:  # httpx2's own transport (httpcore2)
        return sum(1 for conn in pool.connections if not (conn.is_idle() or conn.is_closed()))
    session = transport.client  # aiohttp: connections handed out and not yet released
    return len(session.connector._acquired) if session is not None else 0


def max_overlap(records: Sequence[RecordedRequest]) -> int:
    """The most of ``records`` being handled at the same moment."""
    events = sorted([(r.start, 1) for r in records] + [(r.end or math.inf, -1) for r in records])
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


async def assert_nothing_left_behind(fake: FakeKlingServer, client: KlingClient) -> None:
    """No connection or pool slot in use, no request sent after the loop, none on the wire."""
    assert checked_out_connections(client) == 0
    assert client._pool_slots.borrowed_tokens == 0
    # A request cancelled on its way out can reach the server a moment after the loop ended
    # (its bytes were already sent): one round trip and the server's idleness let it land.
    await client.assets.list(page_size=1, email=fake.emails[0])
    await fake.wait_idle()
    before = len(fake.requests)
    await client.assets.list(page_size=1, email=fake.emails[0])
    after = fake.requests[before:]
    assert [(r.api_path, r.query["pageSize"]) for r in after] == [("/assets", "1")]
    assert fake.in_flight == 0
    assert checked_out_connections(client) == 0


# -- delivery ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_every_page_of_every_account_arrives_once_in_account_order(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    page_size = 7
    counts = [len(account.tasks) for account in fake.data.accounts]
    # The seeded dataset gives one account a page count that is not a multiple of 7 and
    # another an exact multiple (which ends on an empty page).
    assert counts[0] % page_size != 0
    assert counts[1] % page_size == 0

    seen: dict[str, list[int]] = {email: [] for email in fake.emails}
    pages = batch.iter_pages(client, fake.emails, page_size=page_size, concurrency=6)
    async with pages:
        async for p in pages:
            seen[p.email or ""].append(p.page_num)
            tasks = fake.data.account(p.email or "").tasks
            expected = tasks[(p.page_num - 1) * page_size : p.page_num * page_size]
            assert [entry.task.id for entry in p.page.history if entry.task] == [
                task.task_id for task in expected
            ]
            assert [work.work_id for work in p.works] == [
                work_id for task in expected for work_id in task.work_ids
            ]

    for email, count in zip(fake.emails, counts, strict=True):
        assert seen[email] == list(range(1, math.ceil(count / page_size) + 1))


@pytest.mark.fake(works_per_account=0)
@pytest.mark.anyio
async def test_accounts_without_works_yield_nothing(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    pages = batch.iter_pages(client, fake.emails, per_account=3)
    async with pages:
        assert [p async for p in pages] == []
    for email in fake.emails:
        assert 1 in pages_requested(fake, email)
        assert max(pages_requested(fake, email)) < 1 + 3


@pytest.mark.anyio
async def test_pages_requested_past_each_accounts_end_stay_below_per_account(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.jitter = 0.005  # answers arrive out of order
    per_account = 5
    pages = batch.iter_pages(client, fake.emails, page_size=10, per_account=per_account)
    async with pages:
        async for _ in pages:
            pass

    for account in fake.data.accounts:
        requested = pages_requested(fake, account.email)
        last = len(account.tasks) // 10 + 1  # the first empty or short page
        assert sorted(requested) == sorted(set(requested)), "no page is asked for twice"
        assert set(range(1, last + 1)) <= set(requested)
        assert max(requested) - last < per_account


@pytest.mark.anyio
async def test_requests_overlap_within_concurrency_and_per_account(held_client: Any) -> None:
    async with (
        FakeKlingServer(accounts=3, works_per_account=120, seed=0) as fake,
        held_client(fake, 6) as client,  # gets through only with 6 requests in flight at once
    ):
        fake.latency = 0.02
        fake.jitter = 0.01  # answers arrive out of order
        pages = batch.iter_pages(client, fake.emails, page_size=10, concurrency=6, per_account=3)
        assert (pages.concurrency, pages.per_account) == (6, 3)
        with anyio.fail_after(10):
            async with pages:
                count = len([p async for p in pages])

        requests = listing_requests(fake)
        assert count == sum(math.ceil(len(a.tasks) / 10) for a in fake.data.accounts)
        assert fake.max_in_flight <= 6
        for account in fake.data.accounts:
            mine = [r for r in requests if r.email == account.email]
            numbers = [int(r.query["pageNum"]) for r in mine]
            assert len(numbers) == len(set(numbers)), "no page is asked for twice"
            assert max(numbers) - (len(account.tasks) // 10 + 1) < 3
            assert max_overlap(mine) <= 3


@pytest.mark.anyio
async def test_concurrency_is_clamped_to_the_connection_pool() -> None:
    async with FakeKlingServer(accounts=3, works_per_account=60, seed=0, latency=0.01) as fake:
        limits = httpx2.Limits(max_connections=3)
        async with KlingClient(fake.token, base_url=fake.base_url, limits=limits) as client:
            pages = batch.iter_pages(client, fake.emails, page_size=5, concurrency=16)
            assert pages.concurrency == 3
            async with pages:
                async for _ in pages:
                    pass
            assert fake.max_in_flight <= 3


@pytest.mark.anyio
async def test_the_clients_default_account_is_used_without_emails(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    client = client.with_options(email=fake.emails[1])
    async with batch.iter_pages(client, page_size=20) as pages:
        emails = {p.email async for p in pages}
    assert emails == {fake.emails[1]}
    assert {r.email for r in listing_requests(fake)} == {fake.emails[1]}


@pytest.mark.anyio
async def test_duplicate_emails_are_listed_once(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    email = fake.emails[2]
    emails = [email, f" {email} ", email.upper()]
    async with batch.iter_pages(client, emails, page_size=40) as pages:
        numbers = [p.page_num async for p in pages]
    assert numbers == [1, 2, 3]


# -- stopping early ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_plain_async_for_is_a_type_error_that_shows_the_right_form(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client

    async def plain_loop() -> None:
        async for _ in batch.iter_upload_pages(client, fake.emails):
            raise AssertionError("no page may come")

    with pytest.raises(TypeError, match=r"(?s)async with batch\.iter_pages\(.*async for"):
        await plain_loop()
    gc.collect()  # finalise the abandoned iterator now: it must not raise or warn
    assert fake.requests == []
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_an_exception_in_the_loop_body_propagates_as_is_and_leaves_nothing_behind(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02

    async def fail_in_body() -> None:
        async with batch.iter_pages(client, fake.emails, page_size=5) as pages:
            async for _ in pages:
                raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        await fail_in_body()
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_cancelling_the_scope_around_the_loop_leaves_nothing_behind(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02
    with anyio.CancelScope() as scope:
        pages = batch.iter_pages(client, fake.emails, page_size=5)
        async with pages:
            async for p in pages:
                if p.page_num == 2:
                    scope.cancel()
    assert scope.cancelled_caught
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_a_timeout_with_requests_on_the_wire_stops_them_promptly(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(*[Fault.hang()] * 6, path="/assets")  # the first requests never answer
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                # The timeout expires once the 6 requests (concurrency) are on the wire.
                tg.start_soon(expire_when, lambda: fake.wait_for_requests(6), scope)
                pages = batch.iter_pages(client, fake.emails, concurrency=6, per_account=2)
                async with pages:
                    async for _ in pages:
                        pass
    assert scope.cancelled_caught
    assert len(fake.requests) == 6
    assert checked_out_connections(client) == 0
    fake.clear_faults()
    await assert_nothing_left_behind(fake, client)


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_by_default_a_failure_is_raised_as_the_sdk_error_naming_account_and_page(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    pages = batch.iter_pages(client, [fake.emails[0], NOBODY], page_size=5)
    with pytest.raises(NotFoundError) as raised:
        await drain(pages)
    assert (raised.value.email, raised.value.page_num) == (NOBODY, 1)
    assert pages.failures[0].email == NOBODY
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_a_malformed_page_names_its_account_and_page(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.malformed_json(), path="/assets")
    email = fake.emails[1]
    with pytest.raises(ResponseValidationError) as raised:
        await drain(batch.iter_pages(client, [email], per_account=1))
    assert (raised.value.email, raised.value.page_num) == (email, 1)


@pytest.mark.anyio
async def test_continue_mode_reports_failures_and_finishes_the_other_accounts(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    emails = [fake.emails[0], NOBODY, fake.emails[2]]
    pages = batch.iter_pages(client, emails, page_size=20, on_error="continue")
    async with pages:
        seen = [(p.email, p.page_num) async for p in pages]

    for email in (fake.emails[0], fake.emails[2]):
        count = len(fake.data.account(email).tasks)
        assert [n for who, n in seen if who == email] == list(range(1, math.ceil(count / 20) + 1))
    [failure] = pages.failures
    assert (failure.email, failure.page_num) == (NOBODY, 1)
    assert isinstance(failure.error, NotFoundError)


@pytest.mark.anyio
async def test_rate_limits_are_retried_by_the_clients_policy(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.status(429, retry_after=0), Fault.status(503), path="/assets")
    email = fake.emails[0]
    async with batch.iter_pages(client, [email], page_size=20) as pages:
        numbers = [p.page_num async for p in pages]
    assert numbers == list(range(1, math.ceil(len(fake.data.account(email).tasks) / 20) + 1))
    assert [r.status for r in fake.requests].count(429) == 1


# -- requests on the wire while the body runs ----------------------------------------------------


@pytest.mark.fake(uploads_per_account=30)
@pytest.mark.anyio
async def test_pages_cover_empty_exact_and_partial_accounts_once_in_order(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    empty, exact, partial = fake.data.accounts
    empty.deleted_upload_ids.update(upload.id for upload in empty.uploads)
    exact.deleted_upload_ids.update(upload.id for upload in exact.uploads[:10])  # 20 left
    partial.deleted_upload_ids.update(upload.id for upload in partial.uploads[:7])  # 23 left
    fake.jitter = 0.005  # answers arrive out of order

    seen: dict[str, list[tuple[int, int]]] = {email: [] for email in fake.emails}
    async with batch.iter_upload_pages(client, fake.emails, page_size=5) as pages:
        async for p in pages:
            seen[p.email or ""].append((p.page_num, len(p.assets)))
            live = fake.data.account(p.email or "").live_uploads
            expected = live[(p.page_num - 1) * 5 : p.page_num * 5]
            assert [asset.id for asset in p.assets] == [upload.id for upload in expected]

    assert seen == {
        empty.email: [],
        exact.email: [(1, 5), (2, 5), (3, 5), (4, 5)],
        partial.email: [(1, 5), (2, 5), (3, 5), (4, 5), (5, 3)],
    }
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_requests_stay_on_the_wire_while_the_body_holds_a_page(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02
    per_account = 4
    async with batch.iter_pages(
        client, fake.emails, page_size=5, concurrency=6, per_account=per_account
    ) as pages:
        first = await pages.__anext__()
        assert first.page_num == 1
        # With no further __anext__, every account's window fills up: pages n .. n +
        # per_account - 1 are requested, n being its next page to deliver (2 for the account
        # of the page delivered, 1 for the others; every account has more pages than that).
        window = {
            email: list(range(1, per_account + 1 + (email == first.email))) for email in fake.emails
        }
        with anyio.fail_after(10):
            await fake.wait_for_requests(sum(len(pages) for pages in window.values()))
            await settled(client)
        # ... and nothing past it, even once everything has settled: the window holds it back.
        assert {email: sorted(pages_requested(fake, email)) for email in fake.emails} == window
        assert fake.max_in_flight <= 6
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_break_leaves_nothing_behind(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02
    async with batch.iter_pages(client, fake.emails, page_size=5) as pages:
        async for p in pages:
            if p.page_num == 2:
                break
    await assert_nothing_left_behind(fake, client)
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()


@pytest.mark.anyio
async def test_body_exception_comes_out_as_is_and_leaves_nothing_behind(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02
    error = KeyError("stop here")

    async def fail_in_body() -> None:
        async with batch.iter_pages(client, fake.emails, page_size=5) as pages:
            async for _ in pages:
                # Requests on the wire while the body fails: from now on every request that
                # arrives hangs, and the page delivered opens its account's window for one more.
                fake.add_faults(*[Fault.hang()] * 100, path="/assets")
                await fake.wait_for_requests(len(fake.requests) + 1)
                raise error

    with anyio.fail_after(10):
        with pytest.raises(KeyError) as raised:
            await fail_in_body()
    assert raised.value is error
    fake.clear_faults()
    await assert_nothing_left_behind(fake, client)


CANCEL_POINTS = ["deadline 0", "deadline 1e-4", "first request", "first page", "in the body"]
"""Where `test_a_cancelled_async_with_block_returns_promptly_and_leaves_nothing_behind`
cancels: deadlines that expire while the block is being entered, and points reached by events
(a request arriving at the server, a page delivered, the body waiting on something else)."""


async def close_after(seconds: float, pages: batch.ConcurrentPages[Any], hung: list[bool]) -> None:
    """Last resort against a hang behind a shield, which no deadline gets through: once
    ``seconds`` have passed, note it in ``hung`` and close ``pages`` (which cancels its shielded
    requests), so that the test fails instead of blocking the run."""
    await anyio.sleep(seconds)
    hung.append(True)
    await pages.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("point", CANCEL_POINTS)
async def test_a_cancelled_async_with_block_returns_promptly_and_leaves_nothing_behind(
    fake_and_client: tuple[FakeKlingServer, KlingClient], point: str
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02
    pages = batch.iter_pages(client, fake.emails, page_size=5, concurrency=6, per_account=2)
    delivered = anyio.Event()
    seen: list[int] = []
    hung: list[bool] = []
    async with anyio.create_task_group() as guard:
        guard.start_soon(close_after, 10, pages, hung)
        with anyio.fail_after(10):
            with anyio.CancelScope() as scope:
                if point.startswith("deadline"):
                    scope.deadline = anyio.current_time() + float(point.split()[1])
                elif point == "first request":
                    guard.start_soon(cancel_when, fake.wait_for_requests(1), scope)
                elif point == "in the body":
                    guard.start_soon(cancel_when, delivered.wait(), scope)
                async with pages:
                    async for p in pages:
                        seen.append(p.page_num)
                        if point == "first page":
                            scope.cancel()
                        elif point == "in the body":
                            delivered.set()
                            await anyio.sleep_forever()
        guard.cancel_scope.cancel()

    assert not hung, "the block hung until the iterator was closed from outside"
    assert scope.cancelled_caught
    if point == "in the body":
        assert seen == [1]
    elif point == "first page":
        assert seen[0] == 1  # (pages already buffered may still come before the next checkpoint)
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()
    await assert_nothing_left_behind(fake, client)


async def cancel_when(event: Awaitable[object], scope: anyio.CancelScope) -> None:
    await event
    scope.cancel()


@pytest.mark.anyio
async def test_failure_is_raised_plain_after_the_pages_before_it(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    email = fake.emails[0]
    seen: list[int] = []

    async def consume() -> None:
        async with batch.iter_pages(
            client, [email], page_size=5, concurrency=1, per_account=1
        ) as pages:
            async for p in pages:
                seen.append(p.page_num)
                if p.page_num == 2:
                    # Page 3 is requested only once page 2 is delivered: it gets this fault.
                    fake.add_faults(Fault.status(400), path="/assets")

    with pytest.raises(BadRequestError) as raised:
        await consume()
    assert type(raised.value) is BadRequestError
    assert seen == [1, 2]
    assert (raised.value.email, raised.value.page_num) == (email, 3)
    await assert_nothing_left_behind(fake, client)


@pytest.mark.anyio
async def test_unknown_account_is_raised_as_not_found_and_stops_the_others(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.latency = 0.02
    pages = batch.iter_pages(client, [fake.emails[0], NOBODY], page_size=5)

    async def consume() -> None:
        async with pages:
            async for _ in pages:
                pass

    with pytest.raises(NotFoundError) as raised:
        await consume()
    assert type(raised.value) is NotFoundError
    assert (raised.value.email, raised.value.page_num) == (NOBODY, 1)
    assert pages.failures[0].email == NOBODY
    await assert_nothing_left_behind(fake, client)


# -- pacing and arguments ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_max_per_second_spaces_out_request_starts(
    fake_and_client: tuple[FakeKlingServer, KlingClient], pacer_starts: list[float]
) -> None:
    fake, client = fake_and_client
    interval = 1 / 20
    begin = anyio.current_time()
    pages = batch.iter_pages(client, fake.emails, page_size=40, max_per_second=20)
    async with pages:
        async for _ in pages:
            pass
    elapsed = anyio.current_time() - begin

    requests = len(listing_requests(fake))
    assert requests >= 9
    # Measured at the client: every request the server saw was let go by the pacer (a start
    # taken just before the block ends may be cancelled before it is sent), one start every
    # interval, never closer (a float's rounding aside), so the requests took at least that
    # long on the client's clock.
    assert len(pacer_starts) >= requests
    assert all(b - a >= interval * (1 - 1e-9) for a, b in itertools.pairwise(pacer_starts))
    assert begin <= pacer_starts[0]
    assert elapsed >= (requests - 1) * interval * (1 - 1e-9)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "arguments",
    [
        {"emails": []},
        {"emails": ["not-an-email"]},
        {"emails": [None]},
        {"emails": 42},
        {"page_size": 0},
        {"concurrency": 0},
        {"per_account": 0},
        {"on_error": "ignore"},
        {"content_type": "pdf"},
        {"max_per_second": 0},
        {"sort": "sideways"},
    ],
)
async def test_bad_arguments_raise_before_any_request(
    fake_and_client: tuple[FakeKlingServer, KlingClient], arguments: dict[str, Any]
) -> None:
    fake, client = fake_and_client
    arguments = dict(arguments)
    emails = arguments.pop("emails", fake.emails)
    with pytest.raises(InvalidInputError):
        batch.iter_pages(client, emails, **arguments)
    with pytest.raises(InvalidInputError):
        batch.iter_upload_pages(client, emails, **arguments)
    assert fake.requests == []


@pytest.mark.anyio
async def test_a_blank_file_name_filter_raises_before_any_request(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    with pytest.raises(InvalidInputError):
        batch.iter_upload_pages(client, fake.emails, file_name="  ")
    assert fake.requests == []
