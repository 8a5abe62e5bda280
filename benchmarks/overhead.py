"""Scenario 4: client overhead on a small endpoint, at zero latency, concurrency 16 and 64.

Every variant makes the same ``GET /assets/download?email=..&workIds=<one id>`` calls (a
~100-byte JSON answer) with 16, then 64 workers against the same fake server (its own process,
no latency), and parses the JSON:

- kling_async: ``client.assets.download(work_id, email=...)`` (argument checks, the request
  core, status mapping, decoding into `DownloadResult`) on its default transport (httpx2's);
- kling_async on aiohttp: the same with ``KlingClient(..., http="aiohttp")`` (httpx2 over
  httpx-aiohttp's ``AiohttpTransport``);
- bare httpx2: ``httpx2.AsyncClient.get`` (the SDK's pool size) + ``orjson.loads``: the SDK's
  own library without the SDK, the default transport's baseline;
- bare httpx: encode/httpx's ``httpx.AsyncClient.get`` + ``orjson.loads``, what users write
  today;
- bare aiohttp: ``aiohttp.ClientSession.get`` (pool of 100) + ``orjson.loads``, the known
  faster peer (httpx issue 3215) and the aiohttp transport's baseline;
- bare httpx2 on httpx-aiohttp's transport: what ``http="aiohttp"`` builds, without the SDK;
  with the two above it splits the SDK-on-aiohttp gap into the httpx2 + transport layer and
  the SDK's own layer.

Each run opens a fresh client (outside the timing) and closes it after: httpcore's pool costs
grow with the connections it has gathered, so a client kept across runs makes its figures
depend on the runs before. Both concurrencies run in the same interleaved rounds.

Two figures per variant: requests per second (wall clock; on a 2-core machine the fake server
is close to saturated by the faster clients, which compresses the differences), and the client
process's CPU time per request (``time.process_time``; the server's CPU is not in it), which
is the overhead the client itself adds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import orjson

from ._harness import (
    FakeServerProcess,
    Ratio,
    Row,
    Settings,
    auth_headers,
    bare_aiohttp_session,
    bare_httpx2_client,
    bare_httpx2_on_aiohttp,
    bare_httpx_client,
    interleave,
    log,
    median,
    run_pool,
    sdk_client,
)

NAME = "overhead"
TITLE = "Client overhead (zero latency, c=16 and c=64)"

CONCURRENCIES = (16, 64)

Call = Callable[[object], Awaitable[None]]
Opener = Callable[[], AbstractAsyncContextManager[Call]]

NAMES = {
    "sdk": "kling_async (httpx2)",
    "sdk_aiohttp": "kling_async on aiohttp (http='aiohttp')",
    "httpx2": "bare httpx2.AsyncClient + orjson",
    "httpx": "bare httpx.AsyncClient (encode/httpx) + orjson",
    "aiohttp": "bare aiohttp.ClientSession + orjson",
    "httpx2_aiohttp": "bare httpx2 on httpx-aiohttp's transport + orjson",
}
"""Every variant, by key; the ``client`` in each row's details is its key."""

BASELINES: dict[str, tuple[tuple[str, str], ...]] = {
    "sdk": (("httpx2", "bare httpx2"), ("httpx", "bare httpx")),
    "sdk_aiohttp": (("aiohttp", "bare aiohttp"), ("httpx2_aiohttp", "bare httpx2 on aiohttp")),
    "httpx2": (("httpx", "bare httpx"),),
    "aiohttp": (("httpx", "bare httpx"),),
    "httpx2_aiohttp": (("aiohttp", "bare aiohttp"),),
}
"""Each variant's baselines, the target's first: its ratios are against these (same c)."""

TARGETS = {"sdk": 0.95, "sdk_aiohttp": 0.90}
"""Throughput targets: at least this fraction of the first baseline's req/s, at every c."""


def _openers(server: FakeServerProcess, email: str, work_id: int) -> dict[str, Opener]:
    """For each variant: open a fresh client and return the function making one call."""
    url = server.base_url + "/assets/download"
    params = {"email": email, "workIds": str(work_id)}
    headers = auth_headers(server)

    def sdk_with(**options: Any) -> Opener:
        @asynccontextmanager
        async def sdk() -> AsyncIterator[Call]:
            async with sdk_client(server, **options) as client:

                async def call(_: object) -> None:
                    assert (await client.assets.download(work_id, email=email)).cdn_url

                yield call

        return sdk

    def httpx_like(make: Callable[[], Any]) -> Opener:
        """encode/httpx and httpx2 share the API: one opener for both."""

        @asynccontextmanager
        async def bare() -> AsyncIterator[Call]:
            async with make() as http:

                async def call(_: object) -> None:
                    response = await http.get(url, params=params, headers=headers)
                    response.raise_for_status()
                    assert orjson.loads(response.content)["cdnUrl"]

                yield call

        return bare

    @asynccontextmanager
    async def bare_aiohttp() -> AsyncIterator[Call]:
        async with bare_aiohttp_session() as session:

            async def call(_: object) -> None:
                async with session.get(url, params=params, headers=headers) as response:
                    response.raise_for_status()
                    assert orjson.loads(await response.read())["cdnUrl"]

            yield call

    return {
        "sdk": sdk_with(),
        "sdk_aiohttp": sdk_with(http="aiohttp"),
        "httpx2": httpx_like(bare_httpx2_client),
        "httpx": httpx_like(bare_httpx_client),
        "aiohttp": bare_aiohttp,
        "httpx2_aiohttp": httpx_like(bare_httpx2_on_aiohttp),
    }


def _label(key: str, concurrency: int) -> str:
    return f"{NAMES[key]}, c={concurrency}"


async def _scenario(settings: Settings) -> list[Row]:
    quick = settings.quick
    requests = 100 if quick else 1_000
    rounds = settings.rounds_or(7)

    with FakeServerProcess(accounts=1, works=50, latency_ms=0) as server:
        email = server.emails[0]
        async with sdk_client(server) as client:
            work_id = (await client.assets.list(page_size=1, email=email)).works[0].work_id
        assert work_id is not None
        log(f"overhead: {requests} requests per run, concurrency {CONCURRENCIES}")
        openers = _openers(server, email, work_id)
        cpu: dict[str, list[float]] = {}

        def timed(key: str, concurrency: int) -> tuple[str, Callable[[], Awaitable[float]]]:
            name = _label(key, concurrency)

            async def measure() -> float:
                await server.reset()
                # A fresh client per run: every run starts from an empty pool, as httpcore's
                # pool costs depend on how many connections it has gathered.
                async with openers[key]() as call:
                    cpu_started = time.process_time()
                    started = time.perf_counter_ns()
                    await run_pool(range(requests), concurrency, call)
                    elapsed = (time.perf_counter_ns() - started) / 1e9
                    cpu_used = time.process_time() - cpu_started
                cpu.setdefault(name, []).append(cpu_used / requests * 1e6)
                if (sent := await server.request_count()) != requests:
                    raise AssertionError(f"{name} sent {sent} requests, not {requests}")
                return requests / elapsed

            return name, measure

        variants = [timed(key, c) for c in CONCURRENCIES for key in NAMES]
        if not quick:  # warm up: imports, first-use caches (quick runs are not measurements)
            for _, measure in variants:
                await measure()
            cpu.clear()
        figures = await interleave(variants, rounds, label="overhead ")

    rates = {name: median(values) for name, values in figures.items()}
    cpu_us = {name: median(values) for name, values in cpu.items()}
    rows = []
    for concurrency in CONCURRENCIES:
        common = {"requests_per_run": requests, "concurrency": concurrency, "rounds": rounds}
        for key in NAMES:
            name = _label(key, concurrency)
            ratios = tuple(
                Ratio(rates[name] / rates[_label(base, concurrency)], f"{label} req/s")
                for base, label in BASELINES.get(key, ())
            )
            goal = TARGETS.get(key)
            rows.append(
                Row(
                    NAME,
                    f"{name}: throughput",
                    rates[name],
                    "req/s",
                    ratios,
                    target=None if goal is None else f"≥ {goal:.2f}x {ratios[0].baseline}",
                    met=None if goal is None else ratios[0].value >= goal,
                    details={
                        **common,
                        "client": key,
                        "figure_kind": "throughput",
                        "per_round": figures[name],
                    },
                )
            )
        for key in NAMES:
            name = _label(key, concurrency)
            ratios = tuple(
                Ratio(cpu_us[name] / cpu_us[_label(base, concurrency)], f"{label} CPU")
                for base, label in BASELINES.get(key, ())
            )
            rows.append(
                Row(
                    NAME,
                    f"{name}: client CPU per request",
                    cpu_us[name],
                    "µs",
                    ratios,
                    details={
                        **common,
                        "client": key,
                        "figure_kind": "cpu",
                        "per_round": cpu[name],
                    },
                )
            )
    return rows


def run(settings: Settings) -> list[Row]:
    return anyio.run(_scenario, settings)
