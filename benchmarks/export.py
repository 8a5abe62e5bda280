"""Scenario 6: ``export_works`` throughput at 100 ms per API call, and memory of a listing.

**Throughput.** The fake server (its own process) holds 3 accounts of 100 works each (300
files of 1-64 KiB, 9.5 MB in all) and delays every API request 100 ms; its CDN routes
(``/_cdn/``) get no delay. Each run exports every account (``emails`` not given: the accounts
come from GET /accounts) into a fresh folder with a fresh client. What such an export must do
at the least, one step after the other:

1. GET /accounts (one round trip: which accounts there are);
2. the first page of the listing (one round trip: no work is known before it);
3. per work, one GET /assets/download (a round trip: the file's URL), then the CDN GET.

With ``c`` works in progress at once and a CDN that answers at once, N works cannot take
less than ``(2 + ceil(N / c)) x latency``: that is the **ideal**, and every row gives its
speed as a fraction of the ideal's (``N / ideal`` works per second; bytes over the ideal time
for MB/s). The ideal counts nothing for the CDN, the disk or the client's own work; what they
cost on this machine shows in the **oracle**: bare httpx2 + orjson following the ideal's
schedule, told every work and its file type in advance: GET /accounts, the first page of
every account at once (answers unused), then ``c`` workers over the works, each doing what
the export does for one (the download URL; the file streamed into a ``.part`` file, hashed,
fsynced and renamed; a manifest line written unbuffered, the manifest fsynced at the end).
The target is on the export against the oracle (at least 0.95x its speed): what the export
adds to the work any client must do.

Variants: the export at its defaults (``concurrency=8``) and at ``concurrency=16``, each beside
the oracle at the same concurrency, interleaved. Each run is checked (every work downloaded,
nothing failed, the bytes the CDN serves); from the server's request log it keeps the API and
CDN requests, when the first GET /assets/download arrived, and the client's CPU time per work.

**Memory.** Listing runs ahead of the downloads by design: every listed work becomes a small
record (``_Job``) on an unbounded queue, so that the total is known early. The scenario
measures the worst case: one account of 100,000 works (the fake's limit), zero latency,
``page_size=100``, and downloads held back: an httpx2 transport wrapped to hold every CDN
request until the run is cancelled, so the ``concurrency`` workers each take one work and wait
while the listing queues all the others. The export runs in a fresh process
(``python -m benchmarks.export '<job>'``); at every listed page it samples the process's
memory, and when the listing has finished it takes the peak, then cancels the export. Figures:

- the peak: ``VmHWM`` (reset just before the export) minus the resident size then, or with
  ``--memory-tracer tracemalloc`` the peak of Python's allocations;
- bytes per listed work: the slope of the memory samples against the works queued, from a
  tenth of the listing to its end (a least-squares fit), which leaves out what does not grow
  with the listing (the client, pages in flight).

Target: at most 512 bytes per listed work (51 MB per 100,000 works).
"""

from __future__ import annotations

import gc
import hashlib
import inspect
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import orjson

from ._harness import (
    FakeServerProcess,
    Ratio,
    Row,
    Settings,
    auth_headers,
    bare_httpx2_client,
    interleave,
    log,
    median,
    run_pool,
    sdk_client,
)
from .memory import _reset_peak_rss, _status_bytes, rss_available

NAME = "export"
TITLE = "Export throughput at 100 ms per API call, and memory of the listing run ahead"

ACCOUNTS = 3
CONCURRENCIES = (8, 16)
MEMORY_PAGE_SIZE = 100
BYTES_PER_WORK_BUDGET = 512
"""Target: what one listed work may cost while it waits on the queue."""
TARGET_ORACLE_SPEED = 0.95
"""Target: the export's works per second at least this fraction of the oracle's."""
PAGE_SIZE = 40
"""The oracle's first pages and the untimed listing that tells it the works."""
FIT_FROM = 0.1
"""The per-work slope is fitted from this fraction of the listing to its end."""


def _export_default(parameter: str) -> int:
    """The default of one of `export_works`'s parameters (``concurrency``, ``page_size``)."""
    from kling_async.export import export_works

    return int(inspect.signature(export_works).parameters[parameter].default)


# -- throughput --------------------------------------------------------------------------------

Plan = list[tuple[str, int, str]]
"""Every work to export: (account, work ID, file type), as the export picks the type."""


async def _plan(server: FakeServerProcess) -> Plan:
    """Every work of every account with the file type the export picks for it (not timed)."""
    from kling_async.export._layout import choose_file_type

    plan: Plan = []
    async with sdk_client(server) as client:
        for email in server.emails:
            async for work in client.assets.iter_works(email=email, page_size=PAGE_SIZE):
                file_type = choose_file_type(work, None)
                assert file_type is not None, "every fake work offers a file"
                plan.append((email, work.work_id, file_type.value))
    return plan


def _is_cdn(record: dict[str, Any]) -> bool:
    return str(record["path"]).startswith("/_cdn/")


def _first_download_ms(records: list[dict[str, Any]]) -> float | None:
    """From the first request's arrival to the first GET /assets/download's."""
    starts = [r["start"] for r in records]
    downloads = [r["start"] for r in records if str(r["path"]).endswith("/assets/download")]
    if not starts or not downloads:
        return None
    return round((min(downloads) - min(starts)) * 1000, 1)


async def _oracle_export(
    http: Any, server: FakeServerProcess, plan: Plan, concurrency: int, out: Path
) -> tuple[int, int]:
    """The ideal's schedule by hand, told every work: return (works, bytes) fetched.

    GET /accounts, the first page of every account at once (the two round trips no export of
    every account can skip; their answers are not needed), then ``concurrency`` workers over
    the works, each doing what the export does for one.
    """
    headers = auth_headers(server)

    async def get_json(path: str, params: dict[str, Any] | None = None) -> Any:
        response = await http.get(server.base_url + path, params=params, headers=headers)
        response.raise_for_status()
        return orjson.loads(response.content)

    accounts = list(await get_json("/accounts"))
    async with anyio.create_task_group() as group:
        for email in accounts:
            params = {"email": email, "pageSize": PAGE_SIZE, "pageNum": 1}
            group.start_soon(get_json, "/assets", params)
    for email in accounts:
        await anyio.Path(out / email).mkdir(parents=True, exist_ok=True)
    done = [0, 0]
    # Unbuffered, one write per line, fsynced at the end: as the export's manifest.
    manifest = await anyio.to_thread.run_sync(open, out / "manifest.jsonl", "ab", 0)
    try:

        async def one(job: tuple[str, int, str]) -> None:
            email, work_id, kind = job
            params = {"email": email, "workIds": work_id, "fileTypes": kind}
            cdn_url = (await get_json("/assets/download", params))["cdnUrl"]
            name = f"{work_id}.{kind.lower()}"
            size, sha256 = await _oracle_fetch(http, cdn_url, out / email, name)
            line = {"account": email, "work_id": work_id, "bytes": size, "sha256": sha256}
            manifest.write(orjson.dumps(line) + b"\n")
            done[0] += 1
            done[1] += size

        await run_pool(plan, concurrency, one)
        os.fsync(manifest.fileno())
    finally:
        manifest.close()
    return done[0], done[1]


async def _oracle_fetch(http: Any, url: str, folder: Path, name: str) -> tuple[int, str]:
    """Stream ``url`` into ``.<name>.part``, hashed, fsynced, renamed: (size, SHA-256)."""
    part = folder / f".{name}.part"
    digest = hashlib.sha256()
    size = 0
    async with http.stream("GET", url) as cdn:
        cdn.raise_for_status()
        async with await anyio.open_file(part, "wb") as file:
            async for chunk in cdn.aiter_raw(64 * 1024):
                digest.update(chunk)
                await file.write(chunk)
                size += len(chunk)
            await file.flush()
            await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
    await anyio.Path(part).replace(folder / name)
    return size, digest.hexdigest()


async def _throughput(settings: Settings) -> list[Row]:
    from kling_async.export import export_works
    from kling_async.testing import expected_file_bytes

    quick = settings.quick
    works_per_account = 10 if quick else 100
    latency_ms = 5.0 if quick else 100.0
    rounds = settings.rounds_or(5)
    default_c = _export_default("concurrency")
    concurrencies = sorted({*CONCURRENCIES, default_c})
    scratch = Path(tempfile.mkdtemp(prefix="kling-bench-export-"))
    runs = itertools.count()
    evidence: dict[str, dict[str, list[Any]]] = {}
    try:
        with FakeServerProcess(
            accounts=ACCOUNTS, works=works_per_account, uploads=0, latency_ms=0
        ) as server:
            plan = await _plan(server)
            await server.set_latency(latency_ms)
            total = len(plan)
            total_bytes = sum(len(expected_file_bytes(work_id, kind)) for _, work_id, kind in plan)
            log(f"export: {total} works, {total_bytes:,} bytes, {latency_ms:g} ms per API call")

            async def checked(
                name: str, body: Callable[[Path], Awaitable[tuple[int, int]]]
            ) -> float:
                """Time one run into a fresh folder, check it, keep the evidence: works/s."""
                out = scratch / f"run-{next(runs)}"
                await server.reset()
                cpu_started = time.process_time()
                started = time.perf_counter_ns()
                fetched = await body(out)
                seconds = (time.perf_counter_ns() - started) / 1e9
                cpu = time.process_time() - cpu_started
                if fetched != (total, total_bytes):
                    raise AssertionError(
                        f"{name} fetched {fetched[0]} works, {fetched[1]:,} bytes;"
                        f" expected {total}, {total_bytes:,}"
                    )
                records = await server.requests()
                await anyio.to_thread.run_sync(shutil.rmtree, out)
                cdn = sum(1 for record in records if _is_cdn(record))
                kept = evidence.setdefault(name, {})
                kept.setdefault("seconds", []).append(round(seconds, 4))
                kept.setdefault("api_requests", []).append(len(records) - cdn)
                kept.setdefault("cdn_requests", []).append(cdn)
                kept.setdefault("first_download_after_ms", []).append(_first_download_ms(records))
                kept.setdefault("client_cpu_ms_per_work", []).append(round(cpu * 1000 / total, 3))
                return total / seconds

            def export_variant(name: str, concurrency: int) -> tuple[str, Any]:
                async def measure() -> float:
                    async with sdk_client(server) as client:

                        async def body(out: Path) -> tuple[int, int]:
                            report = await export_works(client, out, concurrency=concurrency)
                            if not report.ok:
                                raise AssertionError(f"{name} failed: {report.to_dict()}")
                            return report.downloaded, report.bytes_downloaded

                        return await checked(name, body)

                return name, measure

            def oracle_variant(name: str, concurrency: int) -> tuple[str, Any]:
                async def measure() -> float:
                    async with bare_httpx2_client() as http:

                        async def body(out: Path) -> tuple[int, int]:
                            return await _oracle_export(http, server, plan, concurrency, out)

                        return await checked(name, body)

                return name, measure

            names: dict[tuple[str, int], str] = {}
            variants = []
            for c in concurrencies:
                options = (
                    f"defaults (c={c}, page_size={_export_default('page_size')})"
                    if c == default_c
                    else f"c={c}"
                )
                names["export", c] = f"export_works {options}"
                names["oracle", c] = f"oracle: bare httpx2 + orjson, told every work, c={c}"
                variants += [
                    export_variant(names["export", c], c),
                    oracle_variant(names["oracle", c], c),
                ]
            figures = await interleave(variants, rounds, label="export ")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rows: list[Row] = []
    megabytes = total_bytes / 1e6
    for c in concurrencies:
        ideal_s = (2 + math.ceil(total / c)) * latency_ms / 1000
        ideal_rate = total / ideal_s
        common = {
            "accounts": ACCOUNTS,
            "works": total,
            "bytes": total_bytes,
            "latency_ms": latency_ms,
            "concurrency": c,
            "ideal_ms": round(ideal_s * 1000, 1),
            "rounds": rounds,
        }
        oracle_name, export_name = names["oracle", c], names["export", c]
        oracle_rate = median(figures[oracle_name])
        export_rate = median(figures[export_name])
        export_mb = export_rate * megabytes / total
        rows += [
            Row(
                NAME,
                f"ideal, c={c}: {total} works in (2 + ceil({total} / {c})) x {latency_ms:g} ms",
                ideal_rate,
                "works/s",
                details={
                    **common,
                    "client": "ideal",
                    "megabytes_per_s": ideal_rate * megabytes / total,
                },
            ),
            Row(
                NAME,
                oracle_name,
                oracle_rate,
                "works/s",
                (Ratio(oracle_rate / ideal_rate, "ideal speed"),),
                details={
                    **common,
                    "client": "oracle",
                    "per_round_works_per_s": figures[oracle_name],
                    **evidence[oracle_name],
                },
            ),
            Row(
                NAME,
                f"{export_name}: works/s",
                export_rate,
                "works/s",
                (
                    Ratio(export_rate / oracle_rate, "oracle speed"),
                    Ratio(export_rate / ideal_rate, "ideal speed"),
                ),
                target=f"≥ {TARGET_ORACLE_SPEED:.2f}x oracle speed",
                met=export_rate / oracle_rate >= TARGET_ORACLE_SPEED,
                details={
                    **common,
                    "client": "export",
                    "per_round_works_per_s": figures[export_name],
                    **evidence[export_name],
                },
            ),
            Row(
                NAME,
                f"{export_name}: MB/s",
                export_mb,
                "MB/s",
                (
                    Ratio(export_rate / oracle_rate, "oracle MB/s"),
                    Ratio(export_rate / ideal_rate, "ideal MB/s"),
                ),
                details={**common, "client": "export_megabytes"},
            ),
        ]
    return rows


# -- memory: in the worker process ------------------------------------------------------------


def _held_cdn_client() -> tuple[Any, Any]:
    """An httpx2 client that sends API requests and holds every CDN request until cancelled.

    Returns the client and its transport (whose ``held`` counts the CDN requests held).
    """
    import httpx2

    from kling_async.testing._paths import CDN_ROOT

    class HeldCdn(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.real = httpx2.AsyncHTTPTransport()
            self.held = 0

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if request.url.path.startswith(CDN_ROOT + "/"):
                self.held += 1
                await anyio.sleep_forever()
            return await self.real.handle_async_request(request)

        async def aclose(self) -> None:
            await self.real.aclose()

    transport = HeldCdn()
    return httpx2.AsyncClient(transport=transport), transport


async def _list_ahead(job: dict[str, Any]) -> dict[str, Any]:
    from kling_async import KlingClient
    from kling_async.export import ExportProgress, export_works

    tracer = job["tracer"]

    def current() -> int:
        if tracer == "rss":
            return _status_bytes("VmRSS")
        return tracemalloc.get_traced_memory()[0]

    class Watch(ExportProgress):
        def __init__(self) -> None:
            self.listed = 0
            self.finished = 0
            self.samples: list[tuple[int, int]] = []
            self.at_end: dict[str, int] = {}
            self.done = anyio.Event()

        def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
            self.listed += new_works
            self.samples.append((self.listed, current()))

        def work_finished(self, *args: object) -> None:
            self.finished += 1

        def listing_finished(self, works: int) -> None:
            if tracer == "rss":
                self.at_end = {"current": _status_bytes("VmRSS"), "peak": _status_bytes("VmHWM")}
            else:
                now, peak = tracemalloc.get_traced_memory()
                self.at_end = {"current": now, "peak": peak}
            self.done.set()

    watch = Watch()
    out = Path(tempfile.mkdtemp(prefix="kling-bench-export-memory-"))
    http, transport = _held_cdn_client()
    try:
        async with KlingClient(job["token"], base_url=job["base_url"], http_client=http) as client:
            await client.accounts.list()  # open a connection first
            gc.collect()
            if tracer == "rss":
                baseline = _status_bytes("VmRSS")
                _reset_peak_rss()
            else:
                tracemalloc.start()
                baseline = 0
            started = time.perf_counter()
            async with anyio.create_task_group() as group:

                async def export() -> None:
                    await export_works(
                        client,
                        out,
                        emails=job["emails"],
                        concurrency=job["concurrency"],
                        page_size=job["page_size"],
                        progress=watch,
                    )

                group.start_soon(export)
                await watch.done.wait()
                seconds = time.perf_counter() - started
                group.cancel_scope.cancel()
            if tracer == "tracemalloc":
                tracemalloc.stop()
        held = transport.held
    finally:
        await http.aclose()
        shutil.rmtree(out, ignore_errors=True)
    return {
        "listed": watch.listed,
        "finished_before_listing_ended": watch.finished,
        "cdn_requests_held": held,
        "peak": watch.at_end["peak"] - baseline,
        "at_end": watch.at_end["current"] - baseline,
        "samples": [(listed, value - baseline) for listed, value in watch.samples],
        "seconds": round(seconds, 2),
    }


def worker_main(argv: list[str]) -> int:
    """``python -m benchmarks.export '<job json>'``: print the measurement as JSON."""
    job = json.loads(argv[0])
    print(json.dumps(anyio.run(_list_ahead, job)), flush=True)
    return 0


# -- memory: in the benchmark process -----------------------------------------------------------


def _slope(samples: list[tuple[int, int]], total: int) -> float:
    """Bytes per listed work: least-squares slope of memory against works, past a tenth."""
    fitted = [(listed, value) for listed, value in samples if listed >= FIT_FROM * total]
    if len(fitted) < 2 or len({listed for listed, _ in fitted}) < 2:
        return 0.0
    xs, ys = zip(*fitted, strict=True)
    return float(statistics.linear_regression(xs, ys).slope)


def _memory(settings: Settings) -> list[Row]:
    tracer = settings.memory_tracer
    if tracer == "rss" and not rss_available():
        log("export: no /proc/self/clear_refs here; measuring with tracemalloc")
        tracer = "tracemalloc"
    works = 2_000 if settings.quick else 100_000
    concurrency = _export_default("concurrency")
    with FakeServerProcess(accounts=1, works=works, uploads=0, latency_ms=0) as server:
        job = {
            "base_url": server.base_url,
            "token": server.token,
            "emails": server.emails,
            "concurrency": concurrency,
            "page_size": MEMORY_PAGE_SIZE,
            "tracer": tracer,
        }
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.export", json.dumps(job)],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    if done.returncode != 0:
        raise RuntimeError(f"export memory worker failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["listed"] != works:
        raise AssertionError(f"the export listed {result['listed']} works, not {works}")
    if result["finished_before_listing_ended"]:
        raise AssertionError("works finished before the listing ended: downloads not held")
    per_work = _slope(result["samples"], works)
    log(
        f"  export memory {works:,} works listed ahead: peak +{result['peak']:,} B ({tracer}),"
        f" {per_work:,.0f} B per work, listed in {result['seconds']:.1f} s"
    )
    measure = "peak RSS rise" if tracer == "rss" else "tracemalloc peak"
    label = f"export_works listing {works:,} works ahead of the downloads (c={concurrency})"
    common = {
        "tracer": tracer,
        "works": works,
        "page_size": MEMORY_PAGE_SIZE,
        "concurrency": concurrency,
        "seconds": result["seconds"],
        "cdn_requests_held": result["cdn_requests_held"],
        "at_end": result["at_end"],
        "samples": result["samples"][:: max(1, len(result["samples"]) // 50)],
    }
    return [
        Row(
            NAME,
            f"{label}: {measure}",
            result["peak"],
            "B",
            (Ratio(result["peak"] / max(per_work * works, 1.0), f"slope x {works:,} works"),),
            details={**common, "peak_bytes_per_work": round(result["peak"] / works, 1)},
        ),
        Row(
            NAME,
            f"{label}: bytes per listed work (slope)",
            per_work,
            "B",
            (Ratio(per_work / BYTES_PER_WORK_BUDGET, f"the {BYTES_PER_WORK_BUDGET} B budget"),),
            target=f"≤ {BYTES_PER_WORK_BUDGET} B per work",
            met=per_work <= BYTES_PER_WORK_BUDGET,
            details=common,
        ),
    ]


def run(settings: Settings) -> list[Row]:
    rows = anyio.run(_throughput, settings)
    return rows + _memory(settings)


if __name__ == "__main__":
    raise SystemExit(worker_main(sys.argv[1:]))
