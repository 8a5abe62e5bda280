"""`batch.download` and `batch.delete_uploaded` over real loopback HTTP (FakeKlingServer)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from kling_async import (
    AccountError,
    BadRequestError,
    BatchError,
    DeleteResult,
    InvalidInputError,
    KlingClient,
    ServerError,
    batch,
)
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest

pytestmark = pytest.mark.fake(accounts=1, works_per_account=1000, uploads_per_account=1000, seed=0)


async def expire_when(condition: Callable[[], Awaitable[object]], scope: anyio.CancelScope) -> None:
    """Once ``await condition()`` returns, make ``scope``'s deadline expire: a timeout that
    comes at a chosen point rather than after a guessed delay."""
    await condition()
    scope.deadline = anyio.current_time()


def work_ids(fake: FakeKlingServer, count: int) -> list[int]:
    return list(fake.data.accounts[0].work_ids[:count])


def upload_ids(fake: FakeKlingServer, count: int) -> list[str]:
    return [upload.id for upload in fake.data.accounts[0].uploads[:count]]


def calls(fake: FakeKlingServer, path: str) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.api_path == path]


def checked_out_connections(client: KlingClient) -> int:
    """Connections of the client's pool that are in the middle of a request (either transport)."""
    transport = client._http._transport  # type: ignore[attr-defined]
    pool = getattr(transport, "_pool", None)
    if pool is not None:  # httpx2's own transport (httpcore2)
        return sum(1 for conn in pool.connections if not (conn.is_idle() or conn.is_closed()))
    session = transport.client  # aiohttp: connections handed out and not yet released
    return len(session.connector._acquired) if session is not None else 0


# -- splitting -------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("count", [1, 10, 11, 1000])
async def test_download_makes_one_call_per_ten_ids_in_input_order(
    fake_and_client: tuple[FakeKlingServer, KlingClient], count: int
) -> None:
    fake, client = fake_and_client
    ids = work_ids(fake, count)
    result = await batch.download(client, ids)

    assert result.ok
    assert [len(chunk.ids) for chunk in result.chunks] == [
        min(10, count - start) for start in range(0, count, 10)
    ]
    assert list(result.ids) == ids
    assert list(result.succeeded_ids) == ids
    assert result.failed_ids == ()
    sent = sorted(r.query["workIds"] for r in calls(fake, "/assets/download"))
    assert sent == sorted(",".join(map(str, chunk.ids)) for chunk in result.chunks)


@pytest.mark.anyio
async def test_each_download_outcome_holds_its_own_chunks_result(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    result = await batch.download(client, work_ids(fake, 25), concurrency=3)
    assert result.succeeded == result.chunks
    for chunk in result.succeeded:
        assert ",".join(map(str, chunk.ids)) in chunk.value.cdn_url


@pytest.mark.anyio
async def test_ids_in_results_have_the_models_type_whatever_form_they_came_in(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    works = [str(work_id) for work_id in work_ids(fake, 3)]
    downloaded = await batch.download(client, [works[0], f" 00{works[1]} ", int(works[2])])
    assert downloaded.ids == tuple(int(work_id) for work_id in works)  # like Work.work_id
    uploads = upload_ids(fake, 2)
    deleted = await batch.delete_uploaded(client, [int(uploads[0]), uploads[1]])
    assert deleted.ids == tuple(uploads)  # like UploadedAsset.id
    assert deleted.succeeded_ids == tuple(uploads)


@pytest.mark.anyio
@pytest.mark.parametrize("count", [1, 10, 11, 1000])
async def test_delete_makes_one_call_per_ten_ids_and_reports_the_deleted_ones(
    fake_and_client: tuple[FakeKlingServer, KlingClient], count: int
) -> None:
    fake, client = fake_and_client
    ids = upload_ids(fake, count)
    result = await batch.delete_uploaded(client, ids)

    assert result.ok
    assert result.all_deleted
    assert list(result.succeeded_ids) == ids
    assert result.unconfirmed_ids == ()
    assert len(calls(fake, "/assets/uploaded")) == math.ceil(count / 10)
    assert fake.data.accounts[0].deleted_upload_ids == set(ids)


@pytest.mark.anyio
async def test_chunk_size_sets_the_ids_per_call(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    result = await batch.download(client, work_ids(fake, 7), chunk_size=3)
    assert [len(chunk.ids) for chunk in result.chunks] == [3, 3, 1]
    assert len(calls(fake, "/assets/download")) == 3


@pytest.mark.anyio
async def test_duplicates_are_sent_once_first_occurrence_first(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    a, b, c = work_ids(fake, 3)
    result = await batch.download(client, [a, b, str(a), f"00{b}", c, f" {c} "], chunk_size=2)
    assert [chunk.ids for chunk in result.chunks] == [(a, b), (c,)]
    sent = sorted(r.query["workIds"] for r in calls(fake, "/assets/download"))
    assert sent == sorted([f"{a},{b}", str(c)])


# -- failures --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_failed_chunks_never_hide_the_others_and_every_id_is_accounted_for(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.status(400), Fault.status(400), path="/assets/download")
    ids = work_ids(fake, 50)
    result = await batch.download(client, ids, concurrency=3)

    assert not result.ok
    failed = result.failed
    assert len(failed) == 2
    assert failed == tuple(chunk for chunk in result.chunks if not chunk.ok)
    assert all(isinstance(chunk.error, BadRequestError) for chunk in failed)
    assert all(chunk.value is None for chunk in failed)
    assert all(chunk.error is None for chunk in result.succeeded)
    assert sorted(result.succeeded_ids + result.failed_ids) == sorted(ids)
    assert not set(result.succeeded_ids) & set(result.failed_ids)

    with pytest.raises(BatchError) as raised:
        result.raise_for_errors()
    assert raised.value.errors == tuple(chunk.error for chunk in failed)
    assert raised.value.failed_ids == result.failed_ids
    assert len(raised.value.failed_ids) == 20


@pytest.mark.anyio
async def test_a_failed_delete_chunk_is_reported_with_its_ids(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.status(596), path="/assets/uploaded", method="DELETE")
    ids = upload_ids(fake, 30)
    result = await batch.delete_uploaded(client, ids, concurrency=1)

    [failed] = [chunk for chunk in result.chunks if not chunk.ok]
    assert failed.ids == tuple(ids[:10])
    assert isinstance(failed.error, AccountError)
    assert failed.error.email == fake.emails[0]
    assert result.failed_ids == tuple(ids[:10])
    assert result.succeeded_ids == tuple(ids[10:])
    assert fake.data.accounts[0].deleted_upload_ids == set(ids[10:])


@pytest.mark.anyio
async def test_rate_limits_and_server_errors_are_retried_by_the_clients_policy(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(
        Fault.status(429, retry_after=0), Fault.status(503), Fault.drop(), path="/assets"
    )
    result = await batch.download(client, work_ids(fake, 40))
    assert result.ok
    assert len(calls(fake, "/assets/download")) == 4 + 3


@pytest.mark.anyio
async def test_a_chunk_that_fails_every_retry_is_reported_as_failed(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(*[Fault.status(503)] * 3, path="/assets/download")
    result = await batch.download(client, work_ids(fake, 20), concurrency=1)
    assert [chunk.ok for chunk in result.chunks] == [False, True]
    assert isinstance(result.chunks[0].error, ServerError)


# -- delete semantics ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_ids_the_server_does_not_report_deleted_are_unconfirmed_not_failed(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    existing = upload_ids(fake, 3)
    fake.data.accounts[0].deleted_upload_ids.add(existing[2])  # already gone
    result = await batch.delete_uploaded(client, [*existing, "12345"])

    assert result.succeeded_ids == tuple(existing[:2])
    assert result.unconfirmed_ids == (existing[2], "12345")
    assert result.failed_ids == ()
    assert result.ok
    assert not result.all_deleted
    assert result.raise_for_errors() is result


def test_reported_ids_count_in_canonical_form_and_only_when_sent() -> None:
    result = batch.DeleteBatchResult(
        (batch.ChunkSucceeded(("7", "8"), DeleteResult(deleted=2, ids=("007", "99"))),)
    )
    assert result.succeeded_ids == ("7",)
    assert result.unconfirmed_ids == ("8",)


def test_a_deleted_count_without_ids_confirms_a_chunk_only_when_it_covers_every_id() -> None:
    result = batch.DeleteBatchResult(
        (
            batch.ChunkSucceeded(("1", "2"), DeleteResult(deleted=2)),
            batch.ChunkSucceeded(("3", "4"), DeleteResult(deleted=1)),
            batch.ChunkSucceeded(("5",), DeleteResult()),  # a call that answered nothing usable
            batch.ChunkFailed(("6",), RuntimeError("call failed")),
        )
    )
    assert result.succeeded_ids == ("1", "2")
    assert result.unconfirmed_ids == ("3", "4", "5")
    assert result.failed_ids == ("6",)
    assert not result.ok


# -- concurrency, pacing, cancellation -------------------------------------------------------------


@pytest.mark.anyio
async def test_chunks_overlap_within_the_concurrency_limit(held_client: Any) -> None:
    async with (
        FakeKlingServer(accounts=1, works_per_account=1000, seed=0) as fake,
        held_client(
            fake, 4, email=fake.emails[0]
        ) as client,  # gets through only with 4 calls in flight at once
    ):
        fake.latency = 0.02
        with anyio.fail_after(10):
            result = await batch.download(client, work_ids(fake, 120), concurrency=4)

        assert result.ok
        assert len(calls(fake, "/assets/download")) == 12
        assert fake.max_in_flight <= 4


@pytest.mark.anyio
async def test_max_per_second_spaces_out_chunk_starts(
    fake_and_client: tuple[FakeKlingServer, KlingClient], pacer_starts: list[float]
) -> None:
    fake, client = fake_and_client
    interval = 1 / 20
    begin = anyio.current_time()
    await batch.delete_uploaded(client, upload_ids(fake, 60), max_per_second=20)
    elapsed = anyio.current_time() - begin

    assert len(calls(fake, "/assets/uploaded")) == 6
    # Measured at the client: each call was let go by the pacer, one start every interval,
    # never closer (a float's rounding aside), so the six took at least five intervals on the
    # client's clock.
    assert len(pacer_starts) == 6
    assert all(b - a >= interval * (1 - 1e-9) for a, b in itertools.pairwise(pacer_starts))
    assert begin <= pacer_starts[0]
    assert elapsed >= 5 * interval * (1 - 1e-9)


@pytest.mark.anyio
async def test_cancelling_the_caller_stops_every_chunk_promptly(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(*[Fault.hang()] * 4, path="/assets/download")
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:
                # The timeout expires once the 4 calls (concurrency) are on the wire.
                tg.start_soon(expire_when, lambda: fake.wait_for_requests(4), scope)
                await batch.download(client, work_ids(fake, 100), concurrency=4)
    assert scope.cancelled_caught
    assert len(fake.requests) == 4
    assert checked_out_connections(client) == 0

    fake.clear_faults()
    await client.assets.list(page_size=1)
    assert [r.api_path for r in fake.requests[4:]] == ["/assets"]
    assert fake.in_flight == 0


# -- arguments -------------------------------------------------------------------------------------

BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"ids": []},
    {"ids": ["12", "twelve"]},
    {"ids": [-1]},
    {"ids": [1.5]},
    {"ids": b"123"},
    {"chunk_size": 0},
    {"chunk_size": 11},
    {"chunk_size": True},
    {"concurrency": 0},
    {"max_per_second": -1},
    {"email": "not-an-email"},
]


@pytest.mark.anyio
@pytest.mark.parametrize("arguments", BAD_ARGUMENTS)
async def test_bad_download_arguments_raise_before_any_request(
    fake_and_client: tuple[FakeKlingServer, KlingClient], arguments: dict[str, Any]
) -> None:
    fake, client = fake_and_client
    options = dict(arguments)
    ids = options.pop("ids", work_ids(fake, 3))
    with pytest.raises(InvalidInputError):
        await batch.download(client, ids, **options)
    with pytest.raises(InvalidInputError):
        await batch.download(client, work_ids(fake, 3), file_types=["MP4", "EXE"])
    assert fake.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("arguments", BAD_ARGUMENTS)
async def test_bad_delete_arguments_raise_before_any_request(
    fake_and_client: tuple[FakeKlingServer, KlingClient], arguments: dict[str, Any]
) -> None:
    fake, client = fake_and_client
    options = dict(arguments)
    ids = options.pop("ids", upload_ids(fake, 3))
    with pytest.raises(InvalidInputError):
        await batch.delete_uploaded(client, ids, **options)
    assert fake.requests == []


@pytest.mark.anyio
async def test_delete_without_any_email_raises_before_any_request() -> None:
    async with FakeKlingServer(accounts=2, works_per_account=0, seed=0) as fake:
        async with KlingClient(fake.token, base_url=fake.base_url) as client:
            with pytest.raises(InvalidInputError, match="email"):
                await batch.delete_uploaded(client, ["123"])
        assert fake.requests == []
