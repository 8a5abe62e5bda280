"""Property tests of the batch helpers under random fault schedules and cancellation.

Hypothesis draws the input (ID lists with duplicates and spelling variants, chunk sizes,
concurrency, accounts, page sizes, windows), a fault schedule (scripted faults, then a random
rate over a few kinds: 429 with Retry-After 0, 500, 503, drop, truncated, corrupt gzip, 400,
404, hang with a short client timeout, delay) and a way to stop early (a cancel scope
cancelled once the k-th request reaches the server or after a few scheduling checkpoints,
``anyio.move_on_after(0)``, or a ``break`` at the j-th page). Every example runs against
one fake server per test over real loopback HTTP, and checks what must hold whatever
happened:

- `batch.download` / `batch.delete_uploaded`: every distinct ID ends in exactly one outcome;
  no ID is sent in two different chunks; a chunk's request is sent again only after an
  attempt that failed (a retry), at most ``max_retries + 1`` times; for deletes, IDs reported
  deleted are gone from the fake's data, IDs of failed chunks are never reported deleted, and
  nothing outside the sent IDs is deleted.
- `batch.iter_pages`: each account's pages come consecutively from 1, in order, once each and
  with the right content; with no faults the union is the fake's data; in ``"continue"``
  mode a failed account is in ``failures`` once and every other account is complete; no
  failure without a cause in the request log; a page is requested again only as a retry;
  the per-account window and the pages past the end stay within their bounds; stopping
  early returns promptly and leaves nothing in flight, and the client keeps working.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import anyio
import anyio.lowlevel
import attrs
import httpx2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kling_async import APIError, KlingClient, NotFoundError, RetryPolicy, batch
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest

AREA = "batch invariants"

T = TypeVar("T")


class Ledger(Protocol):
    """The ``ledger`` fixture of ``tests/reliability/conftest.py``."""

    def examples_run(self, area: str, count: int) -> None: ...


MAX_RETRIES = 2
RETRY = RetryPolicy(max_retries=MAX_RETRIES, backoff_initial=0.001, backoff_max=0.005, jitter=0.0)
SHORT_TIMEOUT = httpx2.Timeout(1.5, connect=5.0)
"""The client's timeout when a schedule may hang a request: a hang costs this much."""
HANG_GUARD = 30.0
"""Seconds after which a helper that has not returned counts as hung (a guard only)."""
NOBODY = "nobody@example.com"

FAULTS: dict[str, Fault] = {
    "429": Fault.status(429, retry_after=0),
    "500": Fault.status(500),
    "503": Fault.status(503),
    "drop": Fault.drop(),
    "truncated": Fault.truncated(),
    "corrupt gzip": Fault.corrupt_gzip(),
    "400": Fault.status(400),
    "404": Fault.status(404),
    "hang": Fault.hang(),
    "delay": Fault.delay(0.02),
}
RETRYABLE_KINDS = {"drop", "truncated", "corrupt_gzip", "hang"}
"""Fault kinds (as the request log names them) the client retries, besides 429/500/503."""
PROCESSED_KINDS = {"truncated", "delay"}
"""Fault kinds under which the server still carries out the request."""

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- strategies -------------------------------------------------------------------------------


@attrs.frozen
class Schedule:
    """Scripted faults (consumed in order), then a random ``rate`` over ``kinds``."""

    script: tuple[str, ...]
    kinds: tuple[str, ...]
    rate: float
    seed: int

    @property
    def may_hang(self) -> bool:
        return "hang" in self.script or (self.rate > 0 and "hang" in self.kinds)

    @property
    def faultless(self) -> bool:
        return not self.script and self.rate == 0

    def apply(self, fake: FakeKlingServer, *, path: str, method: str) -> None:
        if self.script:
            fake.add_faults(*(FAULTS[name] for name in self.script), path=path, method=method)
        if self.rate:
            faults = [FAULTS[name] for name in self.kinds]
            fake.set_fault_rate(self.rate, faults, seed=self.seed, path=path, method=method)


@attrs.frozen
class Stop:
    """How an example stops early: ``"none"``, ``"after request"`` (a sibling task cancels
    the scope once the k-th request reaches the server), ``"after checkpoints"`` (a sibling
    cancels it after k - 1 scheduling checkpoints: a cancellation wherever the helper happens
    to be, e.g. still entering its ``async with``), ``"at once"`` (``move_on_after(0)``) or
    ``"break"`` (at the j-th page)."""

    kind: str
    at: int = 0


fault_names = st.sampled_from(sorted(FAULTS))
schedules = st.builds(
    Schedule,
    script=st.lists(fault_names, max_size=6).map(tuple),
    kinds=st.lists(fault_names, min_size=1, max_size=4, unique=True).map(tuple),
    rate=st.sampled_from([0.0, 0.0, 0.05, 0.2, 0.5]),
    seed=st.integers(0, 2**16),
)


def stops(*, pages: bool) -> st.SearchStrategy[Stop]:
    kinds = ["none", "none", "after request", "after request", "after checkpoints", "at once"]
    if pages:
        kinds.append("break")
    return st.builds(Stop, st.sampled_from(kinds), st.integers(1, 12))


@attrs.frozen
class IdPick:
    """One ID of a drawn list: the ``index``-th of the known (or unknown) IDs, spelled one of
    four ways (as is, as an int, with leading zeros, with spaces around)."""

    known: bool
    index: int
    spelling: int

    def spell(self, known: Sequence[str], unknown: Sequence[str]) -> int | str:
        value = known[self.index % len(known)] if self.known else unknown[self.index % 2]
        return (value, int(value), "00" + value, f" {value} ")[self.spelling]


def id_picks(pool_size: int) -> st.SearchStrategy[list[IdPick]]:
    """Up to 60 IDs from a pool of ``pool_size`` (duplicates likely), now and then one the
    server does not know."""
    known = st.builds(IdPick, st.just(True), st.integers(0, pool_size - 1), st.integers(0, 3))
    stranger = st.builds(IdPick, st.just(False), st.integers(0, 1), st.integers(0, 3))
    return st.lists(st.one_of(*[known] * 8, stranger), min_size=1, max_size=60)


# -- fixtures ---------------------------------------------------------------------------------


@attrs.frozen
class Server:
    fake: FakeKlingServer
    client: KlingClient
    short: KlingClient
    """The same, with `SHORT_TIMEOUT`: for schedules that may hang a request."""

    def reset(self) -> None:
        self.fake.clear_faults()
        self.fake.reset_data()
        self.fake.reset_stats()

    def client_for(self, schedule: Schedule) -> KlingClient:
        return self.short if schedule.may_hang else self.client


async def serve(**options: Any) -> AsyncIterator[Server]:
    async with (
        FakeKlingServer(seed=0, **options) as fake,
        KlingClient(fake.token, base_url=fake.base_url, email=fake.emails[0], retry=RETRY) as c,
        KlingClient(
            fake.token,
            base_url=fake.base_url,
            email=fake.emails[0],
            retry=RETRY,
            timeout=SHORT_TIMEOUT,
        ) as short,
    ):
        yield Server(fake, c, short)


@pytest.fixture
async def one_account() -> AsyncIterator[Server]:
    """One account with 200 works and 100 uploads: the chunked helpers' server."""
    async for server in serve(accounts=1, works_per_account=200, uploads_per_account=100):
        yield server


@pytest.fixture
async def three_accounts() -> AsyncIterator[Server]:
    """Three accounts with 40 works each: the listing's server."""
    async for server in serve(accounts=3, works_per_account=40):
        yield server


# -- running an example -----------------------------------------------------------------------


@attrs.define
class Run:
    """What happened to one call: its value (None when stopped before it returned)."""

    value: Any = None
    returned: bool = False
    stopped: bool = False
    hung: bool = False


async def run_stoppable(
    fake: FakeKlingServer,
    stop: Stop,
    body: Callable[[], Awaitable[Any]],
    on_hang: Callable[[], Awaitable[None]] | None = None,
) -> Run:
    """Run ``body`` under ``stop``'s cancel scope, with a watchdog against hangs.

    The watchdog (`HANG_GUARD` seconds) marks the run hung, calls ``on_hang`` (which can
    close what a shielded scope keeps alive), then cancels the body.
    """
    run = Run()
    finished = anyio.Event()
    scope = anyio.move_on_after(0) if stop.kind == "at once" else anyio.CancelScope()

    async def watchdog(last_resort: anyio.CancelScope) -> None:
        with anyio.move_on_after(HANG_GUARD):
            await finished.wait()
            return
        run.hung = True
        if on_hang is not None:
            await on_hang()
        last_resort.cancel()

    async def cancel_after_request(count: int) -> None:
        await fake.wait_for_requests(count)
        scope.cancel()

    async def cancel_after_checkpoints(count: int) -> None:
        for _ in range(count):
            await anyio.lowlevel.checkpoint()
        scope.cancel()

    async with anyio.create_task_group() as guard:
        with anyio.CancelScope() as last_resort:
            guard.start_soon(watchdog, last_resort)
            if stop.kind == "after request":
                guard.start_soon(cancel_after_request, stop.at)
            elif stop.kind == "after checkpoints":
                guard.start_soon(cancel_after_checkpoints, stop.at - 1)
            try:
                with scope:
                    run.value = await body()
                    run.returned = True
            finally:
                finished.set()
        guard.cancel_scope.cancel()
    run.stopped = scope.cancelled_caught
    return run


async def settle(server: Server, client: KlingClient) -> list[RecordedRequest]:
    """Wait until nothing is in flight, check the client still works, and return the log of
    the example's requests (the health check's request left out)."""
    fake = server.fake
    with anyio.fail_after(HANG_GUARD):
        await fake.wait_idle()
    assert fake.in_flight == 0
    fake.clear_faults()
    # A request cancelled on its way out may land a moment later: one round trip (which also
    # shows the client still works) and the server's idleness let it in before the snapshot.
    check = await client.assets.list(page_size=1)
    assert len(check.history) == 1
    with anyio.fail_after(HANG_GUARD):
        await fake.wait_idle()
    return [
        r for r in fake.requests if not (r.api_path == "/assets" and r.query["pageSize"] == "1")
    ]


def note(stop: Stop, run: Run, requests: Sequence[RecordedRequest]) -> None:
    """Tell hypothesis's statistics what the example exercised."""
    ended = "returned" if run.returned else "stopped"
    event(f"stop {stop.kind}: {ended}")
    faults = sum(1 for r in requests if r.fault is not None)
    event("faults injected: " + ("0" if not faults else "1-2" if faults < 3 else "3+"))
    if any(r.fault == "hang" for r in requests):
        event("a request hung")


def canonical(value: int | str) -> str:
    return str(int(str(value).strip()))


def attempts_by(
    requests: Sequence[RecordedRequest], key: Callable[[RecordedRequest], T]
) -> dict[T, list[RecordedRequest]]:
    grouped: dict[T, list[RecordedRequest]] = defaultdict(list)
    for record in sorted(requests, key=lambda r: r.start):
        grouped[key(record)].append(record)
    return dict(grouped)


def assert_resent_only_as_retries(grouped: dict[Any, list[RecordedRequest]]) -> None:
    """Each request is sent again only after an attempt that failed, at most as often as the
    retry policy allows, one attempt after the other."""
    for key, attempts in grouped.items():
        assert len(attempts) <= MAX_RETRIES + 1, f"{key}: {len(attempts)} attempts"
        for earlier, later in itertools.pairwise(attempts):
            assert earlier.fault not in (None, "delay"), (
                f"{key}: sent again after an attempt that did not fail "
                f"(status {earlier.status}, fault {earlier.fault})"
            )
            if earlier.fault in ("status", "corrupt_gzip"):  # answered in full: the end is exact
                assert earlier.end is not None
                assert earlier.end <= later.start, f"{key}: a retry overlaps its attempt"


def failed_retryably(attempts: Sequence[RecordedRequest]) -> bool:
    """Whether the last attempt failed in a way the client retries (so retries ran out)."""
    last = attempts[-1]
    if last.fault == "status":
        return last.status in (429, 500, 503)
    return last.fault in RETRYABLE_KINDS


# -- download and delete ----------------------------------------------------------------------


@attrs.frozen
class ChunkCase:
    picks: list[IdPick]
    chunk_size: int
    concurrency: int
    schedule: Schedule
    stop: Stop


def chunk_cases(pool_size: int) -> st.SearchStrategy[ChunkCase]:
    return st.builds(
        ChunkCase,
        picks=id_picks(pool_size),
        chunk_size=st.integers(1, 10),
        concurrency=st.integers(1, 8),
        schedule=schedules,
        stop=stops(pages=False),
    )


def check_chunk_requests(
    requests: Sequence[RecordedRequest], param: str, chunks: Sequence[tuple[str, ...]]
) -> dict[str, list[RecordedRequest]]:
    """The chunk invariants every example must keep, stopped early or not."""
    grouped = attempts_by(requests, lambda r: r.query[param])
    expected = {",".join(chunk) for chunk in chunks}
    owner: dict[str, str] = {}
    for query in grouped:
        assert query in expected, f"{query!r} is not one of the chunks"
        for id_ in query.split(","):
            first = owner.setdefault(id_, query)
            assert first == query, f"ID {id_} was sent in two chunks: {first!r} and {query!r}"
    assert_resent_only_as_retries(grouped)
    return grouped


POOL_SIZE = 80
UNKNOWN_WORKS = ["1", "999999999"]
UNKNOWN_UPLOADS = ["7", "123456789"]


@pytest.mark.anyio
@SETTINGS
@given(case=chunk_cases(POOL_SIZE))
async def test_download_every_id_ends_in_one_chunk_outcome_and_is_resent_only_as_a_retry(
    one_account: Server, ledger: Ledger, case: ChunkCase
) -> None:
    server = one_account
    fake = server.fake
    pool = [str(work_id) for work_id in fake.data.accounts[0].work_ids[:POOL_SIZE]]
    ids = [pick.spell(pool, UNKNOWN_WORKS) for pick in case.picks]
    ledger.examples_run(AREA, 1)
    server.reset()
    client = server.client_for(case.schedule)
    case.schedule.apply(fake, path="/assets/download", method="GET")

    async def call() -> batch.BatchResult[Any, int]:
        return await batch.download(
            client, ids, chunk_size=case.chunk_size, concurrency=case.concurrency
        )

    run = await run_stoppable(fake, case.stop, call)
    assert not run.hung, f"batch.download did not return within {HANG_GUARD} s"
    requests = await settle(server, client)
    note(case.stop, run, requests)

    distinct = list(dict.fromkeys(canonical(value) for value in ids))
    chunks = batch_chunks(distinct, case.chunk_size)
    downloads = [r for r in requests if r.api_path == "/assets/download"]
    grouped = check_chunk_requests(downloads, "workIds", chunks)
    if not run.returned:
        return
    result = run.value
    assert all(type(id_) is int for id_ in result.ids), "work IDs come back as ints"
    assert [tuple(map(str, chunk.ids)) for chunk in result.chunks] == chunks
    assert list(map(str, result.ids)) == distinct
    succeeded, failed = set(map(str, result.succeeded_ids)), set(map(str, result.failed_ids))
    assert not succeeded & failed
    assert succeeded | failed == set(distinct)
    assert set(grouped) == {",".join(chunk) for chunk in chunks}, "every chunk was sent"
    for chunk in result.chunks:
        query = ",".join(map(str, chunk.ids))
        attempts = grouped[query]
        last = attempts[-1]
        unknown = any(str(id_) in UNKNOWN_WORKS for id_ in chunk.ids)
        if chunk.ok:
            assert not unknown
            assert (last.status, last.fault) in ((200, None), (200, "delay"))
            assert query in chunk.value.cdn_url
        else:
            assert isinstance(chunk.error, APIError)
            if last.fault in (None, "delay"):
                assert unknown, f"{query}: failed without a cause"
                assert last.status == 404
                assert isinstance(chunk.error, NotFoundError)
            if failed_retryably(attempts):
                assert len(attempts) == MAX_RETRIES + 1, f"{query}: gave up early"
        if not unknown and all(a.fault in (None, "delay") for a in attempts):
            assert chunk.ok, f"{query}: failed with no fault injected"


@pytest.mark.anyio
@SETTINGS
@given(case=chunk_cases(POOL_SIZE))
async def test_delete_every_id_ends_in_one_outcome_and_reported_deletes_are_real(
    one_account: Server, ledger: Ledger, case: ChunkCase
) -> None:
    server = one_account
    fake = server.fake
    account = fake.data.accounts[0]
    known = {upload.id for upload in account.uploads}
    ids = [
        pick.spell([upload.id for upload in account.uploads], UNKNOWN_UPLOADS)
        for pick in case.picks
    ]
    ledger.examples_run(AREA, 1)
    server.reset()
    client = server.client_for(case.schedule)
    case.schedule.apply(fake, path="/assets/uploaded", method="DELETE")

    async def call() -> batch.DeleteBatchResult:
        return await batch.delete_uploaded(
            client, ids, chunk_size=case.chunk_size, concurrency=case.concurrency
        )

    run = await run_stoppable(fake, case.stop, call)
    assert not run.hung, f"batch.delete_uploaded did not return within {HANG_GUARD} s"
    requests = await settle(server, client)
    note(case.stop, run, requests)

    distinct = list(dict.fromkeys(canonical(value) for value in ids))
    chunks = batch_chunks(distinct, case.chunk_size)
    deletes = [r for r in requests if r.api_path == "/assets/uploaded" and r.method == "DELETE"]
    grouped = check_chunk_requests(deletes, "id", chunks)
    gone = set(account.deleted_upload_ids)
    sent = {id_ for query in grouped for id_ in query.split(",")}
    assert gone <= sent & known, "only IDs that were sent are deleted"
    if not run.returned:
        return
    result = run.value
    assert [chunk.ids for chunk in result.chunks] == chunks
    succeeded = set(result.succeeded_ids)
    unconfirmed = set(result.unconfirmed_ids)
    failed = set(result.failed_ids)
    assert len(succeeded) + len(unconfirmed) + len(failed) == len(distinct)
    assert succeeded | unconfirmed | failed == set(distinct)
    assert succeeded <= gone, f"reported deleted but still there: {sorted(succeeded - gone)}"
    assert not failed & succeeded
    assert not succeeded - known
    assert set(grouped) == {",".join(chunk) for chunk in chunks}, "every chunk was sent"
    for chunk in result.chunks:
        query = ",".join(chunk.ids)
        attempts = grouped[query]
        processed = any(a.fault in PROCESSED_KINDS for a in attempts)
        ids = set(chunk.ids)
        if chunk.ok:
            last = attempts[-1]
            assert (last.status, last.fault) in ((200, None), (200, "delay"))
            assert ids & known <= gone, "a successful call deletes every known ID it sent"
            assert ids - known <= unconfirmed
            if not processed and len(attempts) == 1:
                assert ids & known <= succeeded, f"{query}: deleted but not reported"
        else:
            assert isinstance(chunk.error, APIError)
            assert attempts[-1].fault not in (None, "delay"), f"{query}: failed without a cause"
            if not processed:
                assert not ids & gone, f"{query}: failed, yet the server deleted some of it"
            if failed_retryably(attempts):
                assert len(attempts) == MAX_RETRIES + 1, f"{query}: gave up early"


def batch_chunks(ids: Sequence[str], size: int) -> list[tuple[str, ...]]:
    return [tuple(ids[start : start + size]) for start in range(0, len(ids), size)]


# -- iter_pages -------------------------------------------------------------------------------


@attrs.frozen
class PagesCase:
    accounts: tuple[int, ...]
    """Indexes into the fake's emails; 3 stands for an account the server does not know."""
    page_size: int
    concurrency: int
    per_account: int
    on_error: str
    schedule: Schedule
    stop: Stop


pages_cases = st.builds(
    PagesCase,
    accounts=st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True).map(tuple),
    page_size=st.integers(3, 10),
    concurrency=st.integers(1, 8),
    per_account=st.integers(1, 4),
    on_error=st.sampled_from(["raise", "continue"]),
    schedule=schedules,
    stop=stops(pages=True),
)


@pytest.mark.anyio
@settings(SETTINGS, max_examples=40)
@given(case=pages_cases)
async def test_iter_pages_delivers_each_accounts_pages_once_in_order_whatever_fails(
    three_accounts: Server, ledger: Ledger, case: PagesCase
) -> None:
    server = three_accounts
    fake = server.fake
    ledger.examples_run(AREA, 1)
    server.reset()
    client = server.client_for(case.schedule)
    emails = [fake.emails[i] if i < 3 else NOBODY for i in case.accounts]
    case.schedule.apply(fake, path="/assets", method="GET")
    size = case.page_size
    delivered: dict[str, list[int]] = defaultdict(list)
    works: dict[str, list[int]] = defaultdict(list)
    pages = batch.iter_pages(
        client,
        emails,
        page_size=size,
        concurrency=case.concurrency,
        per_account=case.per_account,
        on_error=case.on_error,  # type: ignore[arg-type]
    )

    async def consume() -> APIError | None:
        count = 0
        try:
            async with pages:
                async for p in pages:
                    assert p.email is not None
                    tasks = fake.data.account(p.email).tasks[(p.page_num - 1) * size :][:size]
                    assert [work.work_id for work in p.works] == [
                        work_id for task in tasks for work_id in task.work_ids
                    ], f"{p.email} page {p.page_num}: wrong works"
                    delivered[p.email].append(p.page_num)
                    works[p.email].extend(work.work_id for work in p.works)
                    count += 1
                    if case.stop.kind == "break" and count == case.stop.at:
                        break
        except APIError as error:
            return error
        return None

    run = await run_stoppable(fake, case.stop, consume, on_hang=pages.aclose)
    assert not run.hung, (
        f"the iter_pages block did not return within {HANG_GUARD} s (stop: {case.stop})"
    )
    requests = await settle(server, client)
    note(case.stop, run, requests)
    with pytest.raises(StopAsyncIteration):
        await pages.__anext__()  # the iteration is over, however it ended

    raised: APIError | None = run.value
    stopped = run.stopped or (case.stop.kind == "break" and run.returned and raised is None)
    listing = [r for r in requests if r.api_path == "/assets"]
    grouped = attempts_by(listing, lambda r: (r.email, int(r.query["pageNum"])))
    assert_resent_only_as_retries(grouped)

    failures = {failure.email: failure for failure in pages.failures}
    assert len(failures) == len(pages.failures), "an account failed more than once"
    assert set(failures) <= set(emails)
    for email in emails:
        got = delivered.get(email, [])
        assert got == list(range(1, len(got) + 1)), f"{email}: pages {got}"
        if email == NOBODY:
            assert got == []
            continue
        total = len(fake.data.account(email).tasks)
        full = math.ceil(total / size)
        end = total // size + 1  # the first page that is short or empty
        requested = [page_num for (who, page_num) in grouped if who == email]
        assert not requested or max(requested) <= end + case.per_account - 1
        failure = failures.get(email)
        if failure is not None:
            assert got == list(range(1, failure.page_num))
            assert failure.page_num <= end
            attempts = grouped[(email, failure.page_num)]
            assert attempts[-1].fault not in (None, "delay"), f"{email}: failed without a cause"
        elif not stopped and raised is None:
            assert got == list(range(1, full + 1)), f"{email}: incomplete, {got} of {full}"
    for failure in pages.failures:
        if failure.email == NOBODY:
            assert failure.page_num == 1
            if grouped[(NOBODY, 1)][-1].fault in (None, "delay"):
                assert isinstance(failure.error, NotFoundError)

    if case.on_error == "continue":
        assert raised is None
    elif raised is not None:
        assert pages.failures
        assert raised is pages.failures[0].error
        assert (raised.email, raised.page_num) == (
            pages.failures[0].email,
            pages.failures[0].page_num,
        )
    else:
        assert not pages.failures
    if case.schedule.faultless and not stopped:
        # With no faults only the unknown account fails, and everything else arrives.
        assert {f.email for f in pages.failures} <= {NOBODY}
        if NOBODY not in emails or case.on_error == "continue":
            for email in emails:
                if email != NOBODY:
                    expected = fake.data.account(email).work_ids
                    assert works[email] == list(expected), f"{email}: not the fake's data"
    if not stopped and raised is None:
        check_windows(listing, emails, case.concurrency, case.per_account)


def check_windows(
    listing: Sequence[RecordedRequest], emails: Sequence[str], concurrency: int, per_account: int
) -> None:
    """In flight at once (as the server saw it): at most ``concurrency`` overall and at most
    ``per_account`` per account. Requests cut short (whose end the server notes late) are
    left out."""
    exact = [r for r in listing if r.fault not in ("hang", "drop", "truncated")]
    assert max_overlap(exact) <= concurrency
    for email in emails:
        assert max_overlap([r for r in exact if r.email == email]) <= per_account, email


def max_overlap(records: Sequence[RecordedRequest]) -> int:
    events = sorted([(r.start, 1) for r in records] + [(r.end or math.inf, -1) for r in records])
    current = peak = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak
