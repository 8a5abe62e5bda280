"""Soak: over 10,000 requests through the batch helpers at concurrency 64, 5% of them faulted.

One run per backend, against one fake server over real loopback HTTP, with random retryable
faults (500, 503, a dropped connection, 429 with Retry-After 0) on 5% of the API requests and
a `RetryPolicy` with tiny waits and enough retries (6) that every call ends in success:

1. `batch.download` of 90,000 work IDs in chunks of 10: 9,000 calls;
2. `batch.iter_upload_pages` over 5,000 uploads, 10 a page: about 560 pages (500, plus the
   ones asked for past the end);
3. `batch.delete_uploaded` of every listed upload in chunks of 10: 500 calls.

No ID may be lost: every ID ends in exactly one outcome, and all of them succeed. Memory must
stay flat: the peak RSS (VmHWM, its high-water mark reset when the soak starts) after 10,000
requests is within a generous 50 MB of the peak after 1,000. The report gets, per backend, both
peaks, the requests sent and faults injected, and the requests per second.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import anyio
import pytest

from kling_async import KlingClient, RetryPolicy, batch
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest

AREA = "soak"

CONCURRENCY = 64
FAULT_RATE = 0.05
FAULTS = [Fault.status(500), Fault.status(503), Fault.drop(), Fault.status(429, retry_after=0)]
RETRY = RetryPolicy(max_retries=6, backoff_initial=0.001, backoff_max=0.01, jitter=0.0)
DOWNLOAD_IDS = 90_000
UPLOADS = 5_000
CHUNK = 10
UPLOAD_PAGE = 10
TARGET = 10_000
"""Requests the soak must reach; the three phases send a little more."""
EARLY = 1_000
"""Where the first memory reading is taken."""
MAX_GROWTH_MB = 50.0


class Ledger(Protocol):
    """The ``ledger`` fixture of ``tests/reliability/conftest.py``."""

    def examples_run(self, area: str, count: int) -> None: ...

    def figure(self, area: str, name: str, value: str) -> None: ...


def memory_mb() -> tuple[float, float]:
    """(peak RSS, current RSS) of this process in MB, from /proc/self/status."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return fields["VmHWM"], fields["VmRSS"]


def reset_peak() -> bool:
    """Restart the VmHWM high-water mark from the current RSS (Linux); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@pytest.fixture
async def soak_server() -> AsyncIterator[tuple[FakeKlingServer, KlingClient]]:
    async with (
        FakeKlingServer(
            accounts=1, works_per_account=100_000, uploads_per_account=UPLOADS, seed=0
        ) as fake,
        KlingClient(fake.token, base_url=fake.base_url, email=fake.emails[0], retry=RETRY) as c,
    ):
        yield fake, c


@pytest.mark.anyio
async def test_soak_loses_no_id_and_keeps_memory_flat(
    soak_server: tuple[FakeKlingServer, KlingClient],
    ledger: Ledger,
    anyio_backend: str,
    http_transport: str,
) -> None:
    fake, client = soak_server
    account = fake.data.accounts[0]
    work_ids = list(account.work_ids[:DOWNLOAD_IDS])
    upload_ids = [upload.id for upload in account.uploads]
    assert len(work_ids) == DOWNLOAD_IDS
    assert len(upload_ids) == UPLOADS
    assert client.max_connections is not None
    assert client.max_connections >= CONCURRENCY

    readings: dict[int, tuple[float, float]] = {}

    async def read_memory_at(count: int) -> None:
        await fake.wait_for_requests(count)
        readings[count] = memory_mb()

    fake.reset_stats()
    fake.set_fault_rate(FAULT_RATE, FAULTS, seed=2024)
    peak_reset = reset_peak()
    started = time.perf_counter()
    listed: list[str] = []
    pages_seen: list[int] = []
    with anyio.fail_after(600):  # a hang guard only
        async with anyio.create_task_group() as watchers:
            watchers.start_soon(read_memory_at, EARLY)
            watchers.start_soon(read_memory_at, TARGET)

            downloads = await batch.download(
                client, work_ids, chunk_size=CHUNK, concurrency=CONCURRENCY
            )
            async with batch.iter_upload_pages(
                client, page_size=UPLOAD_PAGE, concurrency=CONCURRENCY, per_account=CONCURRENCY
            ) as pages:
                async for p in pages:
                    pages_seen.append(p.page_num)
                    listed.extend(asset.id for asset in p.assets)
            deletes = await batch.delete_uploaded(
                client, listed, chunk_size=CHUNK, concurrency=CONCURRENCY
            )
            watchers.cancel_scope.cancel()
        await fake.wait_idle()
    elapsed = time.perf_counter() - started
    final_peak, final_rss = memory_mb()
    fake.clear_faults()
    requests = fake.requests
    api = [r for r in requests if r.api_path is not None]
    faulted = Counter(describe(r) for r in api if r.fault is not None)
    injected = sum(faulted.values())

    tag = f"{anyio_backend} on {http_transport}"
    ledger.examples_run(AREA, len(api))
    ledger.figure(AREA, f"{tag}: requests sent (retries included)", f"{len(api):,}")
    ledger.figure(
        AREA,
        f"{tag}: faults injected",
        f"{injected:,} ({injected / len(api):.1%}: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(faulted.items()))
        + ")",
    )
    ledger.figure(AREA, f"{tag}: requests per second", f"{len(api) / elapsed:,.0f}")
    ledger.figure(AREA, f"{tag}: duration", f"{elapsed:.1f} s")
    peak_name = "peak RSS" if peak_reset else "peak RSS (process lifetime)"
    for count in (EARLY, TARGET):
        if count in readings:
            peak, rss = readings[count]
            ledger.figure(
                AREA,
                f"{tag}: {peak_name} after {count:,} requests",
                f"{peak:.1f} MB (current {rss:.1f} MB)",
            )
    ledger.figure(
        AREA,
        f"{tag}: {peak_name} at the end ({len(api):,} requests)",
        f"{final_peak:.1f} MB (current {final_rss:.1f} MB)",
    )

    # Zero lost IDs: every ID in exactly one outcome, and that outcome a success.
    assert downloads.ok, downloads.errors[:3]
    assert len(downloads.chunks) == DOWNLOAD_IDS // CHUNK
    assert list(downloads.succeeded_ids) == work_ids
    assert downloads.failed_ids == ()
    assert downloads.succeeded == downloads.chunks
    for chunk in downloads.succeeded:
        assert ",".join(map(str, chunk.ids)) in chunk.value.cdn_url
    assert pages_seen == list(range(1, UPLOADS // UPLOAD_PAGE + 1))
    assert pages.failures == ()
    assert listed == upload_ids, "every upload listed once, in order"
    assert deletes.ok, deletes.errors[:3]
    assert deletes.all_deleted
    assert list(deletes.succeeded_ids) == upload_ids
    assert deletes.unconfirmed_ids == ()
    assert deletes.failed_ids == ()
    assert account.live_uploads == ()

    # Each chunk's call went out as one query, repeated only to retry a fault.
    assert_every_call_succeeded_once(api, "/assets/download", "workIds", downloads.chunks)
    assert_every_call_succeeded_once(api, "/assets/uploaded", "id", deletes.chunks, "DELETE")
    assert len(api) >= TARGET
    assert injected > 0
    assert fake.in_flight == 0

    # Flat memory: a generous bound, not a tight one.
    assert EARLY in readings
    assert TARGET in readings
    growth = readings[TARGET][0] - readings[EARLY][0]
    ledger.figure(
        AREA, f"{tag}: peak RSS growth from 1,000 to 10,000 requests", f"{growth:+.1f} MB"
    )
    assert growth < MAX_GROWTH_MB, f"peak RSS grew {growth:.1f} MB from 1,000 to 10,000 requests"


def describe(record: RecordedRequest) -> str:
    if record.fault == "status":
        return str(record.status)
    return str(record.fault)


def assert_every_call_succeeded_once(
    api: list[RecordedRequest],
    path: str,
    param: str,
    chunks: Any,
    method: str = "GET",
) -> None:
    """Each chunk's query was answered 200 exactly once, every other attempt being a fault;
    no ID appears in two queries."""
    attempts: dict[str, list[RecordedRequest]] = {}
    for record in api:
        if record.api_path == path and record.method == method:
            attempts.setdefault(record.query[param], []).append(record)
    assert set(attempts) == {",".join(map(str, chunk.ids)) for chunk in chunks}
    seen: set[str] = set()
    for query, records in attempts.items():
        ids = query.split(",")
        assert not seen & set(ids), f"an ID of {query} was sent in another chunk too"
        seen.update(ids)
        answered = [r for r in records if r.fault is None]
        assert len(answered) == 1, f"{query}: {len(answered)} attempts without a fault"
        assert answered[0].status == 200
        assert records[-1] is answered[0], f"{query}: sent again after it succeeded"
