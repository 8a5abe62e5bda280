"""Scenario 4: client overhead on a small endpoint, at zero latency and concurrency 64.

Every variant makes the same ``GET /assets/download?email=..&workIds=<one id>`` calls (a
~100-byte JSON answer) with 64 workers against the same fake server (its own process, no
latency), and parses the JSON:

- kling_async: ``client.assets.download(work_id, email=...)`` (argument checks, the request
  core, status mapping, decoding into `DownloadResult`);
- bare httpx: ``httpx.AsyncClient.get`` (same pool size as the SDK's) + ``orjson.loads``;
- aiohttp: ``aiohttp.ClientSession.get`` (pool of 100) + ``orjson.loads``, the known faster
  peer (httpx issue 3215);
- kling_async on aiohttp: the SDK given ``http_client=httpx.AsyncClient(transport=...)`` with
  a small aiohttp-backed transport defined here (bench-only, not part of the SDK), and bare
  httpx on the same transport: the pair isolates the SDK's own layer from the pool's cost.

Each run opens a fresh client (outside the timing) and closes it after: httpcore's pool costs
grow with the connections it has gathered, so a client kept across runs makes its figures
depend on the runs before.

Two figures per variant: requests per second (wall clock; on a 2-core machine the fake server
is close to saturated, which compresses the differences), and the client process's CPU time
per request (``time.process_time``; the server's CPU is not in it), which is the overhead the
client itself adds.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import httpx
import orjson

from ._harness import (
    POOL,
    FakeServerProcess,
    Ratio,
    Row,
    Settings,
    auth_headers,
    bare_httpx_client,
    interleave,
    log,
    median,
    run_pool,
    sdk_client,
)

NAME = "overhead"
TITLE = "Client overhead (zero latency, c=64)"

CONCURRENCY = 64


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends through an `aiohttp.ClientSession` (bench-only).

    Enough for this benchmark's GETs: no streaming of request bodies, no per-request timeouts
    beyond the session's, responses read whole.
    """

    def __init__(self, limit: int) -> None:
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit),
            auto_decompress=False,  # httpx decodes Content-Encoding itself
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import yarl

        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        async with self._session.request(
            request.method,
            yarl.URL(str(request.url), encoded=True),
            headers=headers,
            data=request.content or None,
            allow_redirects=False,
        ) as response:
            content = await response.read()
            return httpx.Response(
                response.status,
                headers=[(k.decode(), v.decode()) for k, v in response.raw_headers],
                content=content,
                request=request,
            )

    async def aclose(self) -> None:
        await self._session.close()


Call = Callable[[object], Awaitable[None]]
Opener = Callable[[], AbstractAsyncContextManager[Call]]


def _openers(server: FakeServerProcess, email: str, work_id: int) -> dict[str, Opener]:
    """For each variant: open a fresh client and return the function making one call."""
    import aiohttp

    url = server.base_url + "/assets/download"
    params = {"email": email, "workIds": str(work_id)}
    headers = auth_headers(server)

    @asynccontextmanager
    async def sdk() -> AsyncIterator[Call]:
        async with sdk_client(server) as client:

            async def call(_: object) -> None:
                assert (await client.assets.download(work_id, email=email)).cdn_url

            yield call

    async def httpx_call(http: httpx.AsyncClient) -> Call:
        async def call(_: object) -> None:
            response = await http.get(url, params=params, headers=headers)
            response.raise_for_status()
            assert orjson.loads(response.content)["cdnUrl"]

        return call

    @asynccontextmanager
    async def bare_httpx() -> AsyncIterator[Call]:
        async with bare_httpx_client() as http:
            yield await httpx_call(http)

    @asynccontextmanager
    async def bare_aiohttp() -> AsyncIterator[Call]:
        connector = aiohttp.TCPConnector(limit=POOL.max_connections)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def call(_: object) -> None:
                async with session.get(url, params=params, headers=headers) as response:
                    response.raise_for_status()
                    assert orjson.loads(await response.read())["cdnUrl"]

            yield call

    @asynccontextmanager
    async def sdk_on_aiohttp() -> AsyncIterator[Call]:
        transport = AiohttpTransport(POOL.max_connections)
        async with (
            httpx.AsyncClient(transport=transport) as http,
            sdk_client(server, http_client=http) as client,
        ):

            async def call(_: object) -> None:
                assert (await client.assets.download(work_id, email=email)).cdn_url

            yield call

    @asynccontextmanager
    async def httpx_on_aiohttp() -> AsyncIterator[Call]:
        transport = AiohttpTransport(POOL.max_connections)
        async with httpx.AsyncClient(transport=transport) as http:
            yield await httpx_call(http)

    return {
        "sdk": sdk,
        "httpx": bare_httpx,
        "aiohttp": bare_aiohttp,
        "sdk_aiohttp": sdk_on_aiohttp,
        "httpx_aiohttp": httpx_on_aiohttp,
    }


NAMES = {
    "sdk": "kling_async (httpx)",
    "httpx": "bare httpx.AsyncClient + orjson",
    "aiohttp": "aiohttp.ClientSession + orjson",
    "sdk_aiohttp": "kling_async on the bench's aiohttp transport",
    "httpx_aiohttp": "bare httpx + orjson on the bench's aiohttp transport",
}


async def _scenario(settings: Settings) -> list[Row]:
    quick = settings.quick
    requests = 100 if quick else 500
    rounds = settings.rounds_or(5)

    with FakeServerProcess(accounts=1, works=50, latency_ms=0) as server:
        email = server.emails[0]
        async with sdk_client(server) as client:
            work_id = (await client.assets.list(page_size=1, email=email)).works[0].work_id
        assert work_id is not None
        log(f"overhead: {requests} requests per run, concurrency {CONCURRENCY}")
        openers = _openers(server, email, work_id)
        cpu: dict[str, list[float]] = {}

        def timed(key: str) -> tuple[str, Callable[[], Awaitable[float]]]:
            name = NAMES[key]

            async def measure() -> float:
                await server.reset()
                # A fresh client per run: every run starts from an empty pool, as httpcore's
                # pool costs depend on how many connections it has gathered.
                async with openers[key]() as call:
                    cpu_started = time.process_time()
                    started = time.perf_counter_ns()
                    await run_pool(range(requests), CONCURRENCY, call)
                    elapsed = (time.perf_counter_ns() - started) / 1e9
                    cpu_used = time.process_time() - cpu_started
                cpu.setdefault(name, []).append(cpu_used / requests * 1e6)
                if (sent := await server.request_count()) != requests:
                    raise AssertionError(f"{name} sent {sent} requests, not {requests}")
                return requests / elapsed

            return name, measure

        variants = [timed(key) for key in NAMES]
        for _, measure in variants:  # warm up: imports, first-use caches
            await measure()
        cpu.clear()
        figures = await interleave(variants, rounds, label="overhead ")

    rates = {name: median(values) for name, values in figures.items()}
    cpu_us = {name: median(values) for name, values in cpu.items()}
    common = {"requests_per_run": requests, "concurrency": CONCURRENCY, "rounds": rounds}
    # Each variant's baseline: bare httpx, or for the SDK on aiohttp, bare httpx on aiohttp.
    baselines = {
        "sdk": ("httpx", "bare httpx"),
        "aiohttp": ("httpx", "bare httpx"),
        "sdk_aiohttp": ("httpx_aiohttp", "bare httpx on aiohttp"),
        "httpx_aiohttp": ("httpx", "bare httpx"),
    }
    rows = []
    for key, name in NAMES.items():
        ratios: tuple[Ratio, ...] = ()
        if key in baselines:
            base_key, base_label = baselines[key]
            ratios = (Ratio(rates[name] / rates[NAMES[base_key]], f"{base_label} req/s"),)
            if key == "sdk_aiohttp":
                ratios += (Ratio(rates[name] / rates[NAMES["httpx"]], "bare httpx req/s"),)
        target = key == "sdk"
        rows.append(
            Row(
                NAME,
                f"{name}: throughput",
                rates[name],
                "req/s",
                ratios,
                target="≥ 0.85x bare httpx req/s" if target else None,
                met=(ratios[0].value >= 0.85) if target else None,
                details={**common, "per_round": figures[name]},
            )
        )
    for key, name in NAMES.items():
        ratios = ()
        if key in baselines:
            base_key, base_label = baselines[key]
            ratios = (Ratio(cpu_us[name] / cpu_us[NAMES[base_key]], f"{base_label} CPU"),)
        rows.append(
            Row(
                NAME,
                f"{name}: client CPU per request",
                cpu_us[name],
                "µs",
                ratios,
                details={**common, "per_round": cpu[name]},
            )
        )
    return rows


def run(settings: Settings) -> list[Row]:
    return anyio.run(_scenario, settings)
