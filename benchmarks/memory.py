"""Scenario 5: peak memory while iterating 20,000 and then 200,000 works.

The fake server (its own process, zero latency) holds 2 accounts of 10,000 works, then 2 of
100,000 (its limit per account). Two ways to read them all:

- ``client.assets.iter_works``: one account after the other, one page at a time;
- ``batch.iter_pages`` at its defaults (``concurrency=16``, ``per_account=4``: 8 pages in
  flight over 2 accounts), counting each page's works.

Neither keeps the works; the loop only counts them. Each measurement runs in a fresh client
process (``python -m benchmarks.memory``), so one run's heap cannot hide or inflate another's.
The figure is how far the process's memory rose above where it stood just before the loop:

- ``rss`` (default, Linux): the peak resident set size during the loop (``VmHWM``, reset
  through ``/proc/self/clear_refs`` just before it) minus the resident size at that moment;
- ``tracemalloc`` (``--memory-tracer tracemalloc``, any OS): the peak of memory allocated by
  Python during the loop. Exact, but it makes the loop about 5 times slower.

If nothing accumulates, the 200,000-work peak is the 20,000-work peak: what is held is a few
pages (raw bodies + decoded models), never the listing. "One page" in the ratios is what one
40-entry page from this server costs at its worst: its body plus the ``tracemalloc`` peak of
decoding it (orjson's dicts and the models at once, about 1.4 MB for an 86 KB body).

The target allows 25% over the 20,000-work peak: a peak is the worst moment of a run, and a
run over 10 times more pages meets more of the largest pages and garbage-collector timings,
while keeping anything per work, even one small int (28 bytes, plus 8 for the pointer to it),
would add 6.5 MB over the 180,000 extra works and fail it.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
import tracemalloc
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio

from ._harness import (
    FakeServerProcess,
    Ratio,
    Row,
    Settings,
    auth_headers,
    bare_httpx_client,
    log,
)

NAME = "memory"
TITLE = "Peak memory over 20,000 and 200,000 works"

ACCOUNTS = 2
PAGE_SIZE = 40
RSS_RESOLUTION = 4096  # a resident-size figure moves by whole memory pages


# -- in the worker process ---------------------------------------------------------------------


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    """Bring ``VmHWM`` (the peak resident size) down to the current resident size."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def rss_available() -> bool:
    """Whether this OS lets a process reset and read its peak resident size."""
    try:
        _reset_peak_rss()
        _status_bytes("VmHWM")
    except (OSError, RuntimeError):
        return False
    return True


async def _iterate(job: dict[str, Any]) -> dict[str, Any]:
    from kling_async import KlingClient, batch

    emails = job["emails"]
    async with KlingClient(job["token"], base_url=job["base_url"]) as client:

        async def iter_works() -> int:
            seen = 0
            for email in emails:
                works = client.assets.iter_works(email=email, page_size=PAGE_SIZE)
                async with aclosing(works):
                    async for _work in works:
                        seen += 1
            return seen

        async def iter_pages() -> int:
            seen = 0
            async with batch.iter_pages(client, emails, page_size=PAGE_SIZE) as pages:
                async for page in pages:
                    seen += len(page.works)
            return seen

        body = {"iter_works": iter_works, "iter_pages": iter_pages}[job["variant"]]
        await client.assets.list(page_size=1, email=emails[0])  # open a connection first
        gc.collect()
        if job["tracer"] == "rss":
            baseline = _status_bytes("VmRSS")
            _reset_peak_rss()
            started = time.perf_counter()
            seen = await body()
            seconds = time.perf_counter() - started
            peak = _status_bytes("VmHWM") - baseline
            retained: int | None = None  # freed memory mostly stays resident: RSS cannot tell
        else:
            tracemalloc.start()
            try:
                started = time.perf_counter()
                seen = await body()
                seconds = time.perf_counter() - started
                _, peak = tracemalloc.get_traced_memory()
                gc.collect()
                retained, _ = tracemalloc.get_traced_memory()  # still allocated after the loop
            finally:
                tracemalloc.stop()
    return {"peak": peak, "retained": retained, "seen": seen, "seconds": seconds}


def worker_main(argv: list[str]) -> int:
    """``python -m benchmarks.memory '<job json>'``: print the measurement as JSON."""
    job = json.loads(argv[0])
    print(json.dumps(anyio.run(_iterate, job)), flush=True)
    return 0


# -- in the benchmark process ------------------------------------------------------------------


async def _page_footprint(server: FakeServerProcess, email: str) -> int:
    """What one full page costs at its worst: its body, plus the peak of decoding it.

    The decoding peak holds orjson's dicts and the models built from them at the same time.
    """
    from kling_async._converter import decode_json
    from kling_async._models import AssetsPage

    async with bare_httpx_client() as http:
        response = await http.get(
            server.base_url + "/assets",
            params={"email": email, "pageSize": PAGE_SIZE, "pageNum": 1},
            headers=auth_headers(server),
        )
    body = response.content
    gc.collect()
    tracemalloc.start()
    try:
        page = decode_json(body, AssetsPage)
        _, decoding = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(page.history) == PAGE_SIZE
    return len(body) + decoding


def _measure_in_worker(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", json.dumps(job)],
        cwd=Path(__file__).resolve().parent.parent,  # where the benchmarks package lives
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory worker failed: {done.stderr.strip()[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _measure_size(works_per_account: int, tracer: str) -> dict[str, Any]:
    total = works_per_account * ACCOUNTS
    with FakeServerProcess(accounts=ACCOUNTS, works=works_per_account, latency_ms=0) as server:
        footprint = anyio.run(_page_footprint, server, server.emails[0])
        results: dict[str, Any] = {"footprint": footprint}
        for variant in ("iter_works", "iter_pages"):
            job = {
                "base_url": server.base_url,
                "token": server.token,
                "emails": server.emails,
                "variant": variant,
                "tracer": tracer,
            }
            result = _measure_in_worker(job)
            if result["seen"] != total:
                raise AssertionError(f"{variant} saw {result['seen']} works, not {total}")
            log(
                f"  memory {total:,} works {variant}: +{result['peak']:,} B ({tracer})"
                f" in {result['seconds']:.1f} s"
            )
            results[variant] = result
    return results


def run(settings: Settings) -> list[Row]:
    tracer = settings.memory_tracer
    if tracer == "rss" and not rss_available():
        log("memory: no /proc/self/clear_refs here; measuring with tracemalloc")
        tracer = "tracemalloc"
    small, large = (50, 500) if settings.quick else (10_000, 100_000)
    small_total, large_total = small * ACCOUNTS, large * ACCOUNTS
    small_result = _measure_size(small, tracer)
    large_result = _measure_size(large, tracer)
    footprint = max(small_result["footprint"], large_result["footprint"])
    measure = "peak RSS rise" if tracer == "rss" else "tracemalloc peak"
    labels = {
        "iter_works": "client.assets.iter_works (one account after the other)",
        "iter_pages": "batch.iter_pages defaults (c=16, per_account=4, 2 accounts)",
    }
    rows = []
    for key, label in labels.items():
        small_peak = small_result[key]["peak"]
        large_peak = large_result[key]["peak"]
        common = {"tracer": tracer, "page_footprint_bytes": footprint, "page_size": PAGE_SIZE}
        rows.append(
            Row(
                NAME,
                f"{label}: {measure}, {small_total:,} works",
                small_peak,
                "B",
                (Ratio(small_peak / footprint, "one page"),),
                details={**common, "works": small_total, **small_result[key]},
            )
        )
        growth = large_peak / max(small_peak, RSS_RESOLUTION)
        rows.append(
            Row(
                NAME,
                f"{label}: {measure}, {large_total:,} works",
                large_peak,
                "B",
                (
                    Ratio(growth, f"the {small_total:,}-work peak"),
                    Ratio(large_peak / footprint, "one page"),
                ),
                target=f"≤ 1.25x the {small_total:,}-work peak",
                met=growth <= 1.25,
                details={**common, "works": large_total, **large_result[key]},
            )
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(worker_main(sys.argv[1:]))
