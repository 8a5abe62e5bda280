"""What every scenario shares: settings, rows, interleaved rounds, the fake server process.

A scenario is a module with ``NAME``, ``TITLE`` and ``run(settings) -> list[Row]``. It times
its variants with `interleave` (every round runs every variant once, in a rotated order, so no
variant always goes first or last) and reports the median of the rounds. Scenarios that talk
HTTP start the fake server with `FakeServerProcess`, in its own process, so its CPU time is
not the client's.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "POOL",
    "FakeServerProcess",
    "Ratio",
    "Row",
    "Settings",
    "auth_headers",
    "bare_aiohttp_session",
    "bare_httpx2_client",
    "bare_httpx2_on_aiohttp",
    "bare_httpx_client",
    "interleave",
    "interleave_sync",
    "log",
    "median",
    "run_pool",
    "sdk_client",
]


@dataclass(frozen=True)
class Settings:
    """How a run was asked for on the command line.

    Attributes:
        quick: tiny sizes and one round: what the test suite runs, to keep the code working.
        rounds: rounds asked for with ``--rounds``; None lets each scenario use its default.
        memory_tracer: how the memory scenario measures: ``"rss"`` or ``"tracemalloc"``.
    """

    quick: bool = False
    rounds: int | None = None
    memory_tracer: str = "rss"

    def rounds_or(self, default: int) -> int:
        """The rounds to run: one when quick, else ``--rounds``, else the scenario's default."""
        if self.quick:
            return 1
        return self.rounds if self.rounds is not None else default


@dataclass(frozen=True)
class Ratio:
    """A figure divided by a baseline's, e.g. ``0.62`` of ``"pydantic v2 time"``."""

    value: float
    baseline: str

    def text(self) -> str:
        return f"{self.value:.2f}x {self.baseline}"


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    Attributes:
        scenario: the scenario's name (``decode``, ``fanout``, ...).
        variant: what was measured, e.g. ``"kling_async decode_json"``.
        figure: the measurement: the median over the rounds, in ``unit``.
        unit: ``µs``, ``ms``, ``req/s``, ``B``, ``requests``, ...
        ratios: the figure against named baselines; the first one is the target's, if any.
        target: what the figure should reach, in words; None when the row has no target.
        met: whether it did (None when there is no target).
        details: everything else worth keeping in the JSON (each round's figure, counts).
    """

    scenario: str
    variant: str
    figure: float
    unit: str
    ratios: tuple[Ratio, ...] = ()
    target: str | None = None
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def figure_text(self) -> str:
        return format_figure(self.figure, self.unit)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "figure": self.figure,
            "unit": self.unit,
            "ratios": [{"value": r.value, "baseline": r.baseline} for r in self.ratios],
            "target": self.target,
            "met": self.met,
            "details": self.details,
        }


def format_figure(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value:,.0f} B"
    if unit in ("requests", "works", "pages"):
        return f"{value:,.0f} {unit}"
    if value >= 1000:
        return f"{value:,.0f} {unit}"
    if value >= 100:
        return f"{value:.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def log(message: str) -> None:
    """Progress goes to stderr, so stdout carries only the table."""
    print(message, file=sys.stderr, flush=True)


def _order(count: int, round_index: int) -> list[int]:
    """Variant indices for one round: rotated by the round number."""
    shift = round_index % count
    return [(shift + offset) % count for offset in range(count)]


async def interleave(
    variants: Sequence[tuple[str, Callable[[], Awaitable[float]]]],
    rounds: int,
    *,
    label: str = "",
    max_rounds: dict[str, int] | None = None,
) -> dict[str, list[float]]:
    """Run every variant once per round, rotating the order; return each one's figures.

    Each variant is an async function returning its own figure (a duration, a rate, ...).
    ``max_rounds`` lets a slow variant sit out the rounds after its first few.
    """
    limits = max_rounds or {}
    figures: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_index in range(rounds):
        for index in _order(len(variants), round_index):
            name, measure = variants[index]
            if round_index >= limits.get(name, rounds):
                continue
            figure = await measure()
            figures[name].append(figure)
            log(f"  {label}round {round_index + 1}/{rounds} {name}: {figure:,.3f}")
    return figures


def interleave_sync(
    variants: Sequence[tuple[str, Callable[[], float]]], rounds: int
) -> dict[str, list[float]]:
    """`interleave` for plain functions."""
    figures: dict[str, list[float]] = {name: [] for name, _ in variants}
    for round_index in range(rounds):
        for index in _order(len(variants), round_index):
            name, measure = variants[index]
            figures[name].append(measure())
    return figures


def elapsed_ms(started_ns: int) -> float:
    return (time.perf_counter_ns() - started_ns) / 1e6


# -- the fake server, in its own process ------------------------------------------------------


class FakeServerProcess:
    """``python -m kling_async.testing`` in a child process, on 127.0.0.1, for one scenario.

    Use it as a context manager; inside, `base_url`, `token` and `emails` come from the line
    it prints once listening, and the async methods drive its ``/_fake/`` control API.
    """

    def __init__(
        self,
        *,
        accounts: int,
        works: int,
        uploads: int = 0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        seed: int = 0,
        start_timeout: float = 60.0,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "kling_async.testing",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--accounts",
            str(accounts),
            "--works",
            str(works),
            "--uploads",
            str(uploads),
            "--elements",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--jitter-ms",
            str(jitter_ms),
            "--seed",
            str(seed),
        ]
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[str] | None = None
        self._stderr: Any = None
        self.base_url = ""
        self.url = ""
        self.token = ""
        self.emails: list[str] = []

    def __enter__(self) -> FakeServerProcess:
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        try:
            line = self._read_line()
            info = json.loads(line)
        except BaseException:
            self._stop()
            raise
        self.base_url = info["base_url"]
        self.url = info["url"]
        self.token = info["token"]
        self.emails = list(info["emails"])
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop()

    def _read_line(self) -> str:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], self._start_timeout)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the fake server did not start: {self._stderr_text()}")
        return line

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return str(self._stderr.read()).strip()[-2000:]

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def _control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.request(method, self.url + path, json=body)
            response.raise_for_status()
            return response.json()

    async def stats(self) -> dict[str, Any]:
        """``GET /_fake/stats``: request count since the last reset, in flight, latency."""
        return dict(await self._control("GET", "/_fake/stats"))

    async def reset(self, *, data: bool = False) -> None:
        """``POST /_fake/reset``: zero the request log; ``data`` brings deleted uploads back."""
        await self._control("POST", "/_fake/reset", {"data": data})

    async def set_latency(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        """``POST /_fake/config``: change the delay of every API request."""
        await self._control(
            "POST", "/_fake/config", {"latency_ms": latency_ms, "jitter_ms": jitter_ms}
        )

    async def request_count(self) -> int:
        return int((await self.stats())["requests"])

    async def requests(self) -> list[dict[str, Any]]:
        """``GET /_fake/requests``: every API request since the last reset, with its times."""
        return list(await self._control("GET", "/_fake/requests"))


def waves(records: Sequence[dict[str, Any]], latency_ms: float) -> dict[str, float]:
    """How requests bunched into waves on the server, from its request log.

    A wave starts when a request arrives more than half a latency after the one before.
    ``gap_ms`` is the mean time from a wave's last answer to the next wave's first arrival:
    how long the server sat idle waiting for the client between waves.
    """
    timed = sorted(
        (r["start"] * 1000, r["end"] * 1000) for r in records if r.get("end") is not None
    )
    if not timed:
        return {"waves": 0, "gap_ms": 0.0}
    groups: list[list[tuple[float, float]]] = [[timed[0]]]
    for start, end in timed[1:]:
        if start - groups[-1][-1][0] > latency_ms / 2:
            groups.append([])
        groups[-1].append((start, end))
    gaps = [
        after[0][0] - max(end for _, end in before) for before, after in itertools.pairwise(groups)
    ]
    return {
        "waves": len(groups),
        "gap_ms": round(statistics.fmean(gaps), 1) if gaps else 0.0,
        "arrival_spread_ms": round(
            statistics.fmean(group[-1][0] - group[0][0] for group in groups), 1
        ),
    }


# -- clients ----------------------------------------------------------------------------------

POOL = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""The pool every httpx client here gets: the SDK's default (bare httpx keeps only 20 alive)."""


def sdk_client(server: FakeServerProcess, **options: Any) -> Any:
    """A `KlingClient` on the fake server, with the SDK's defaults."""
    from kling_async import KlingClient

    return KlingClient(server.token, base_url=server.base_url, **options)


def bare_httpx_client() -> httpx.AsyncClient:
    """The oracles' client: plain encode/httpx with the SDK's pool size and timeout."""
    return httpx.AsyncClient(limits=POOL, timeout=httpx.Timeout(60.0, connect=5.0))


def _httpx2_settings() -> dict[str, Any]:
    import httpx2

    return {
        "limits": httpx2.Limits(
            max_connections=POOL.max_connections,
            max_keepalive_connections=POOL.max_keepalive_connections,
        ),
        "timeout": httpx2.Timeout(60.0, connect=5.0),
    }


def bare_httpx2_client() -> Any:
    """Plain httpx2 (the SDK's library) with the SDK's pool size and timeout."""
    import httpx2

    return httpx2.AsyncClient(**_httpx2_settings())


def bare_httpx2_on_aiohttp() -> Any:
    """Plain httpx2 on httpx-aiohttp's transport: what ``http="aiohttp"`` builds, sans SDK."""
    import httpx2
    from httpx_aiohttp.httpx2 import AiohttpTransport

    settings = _httpx2_settings()
    return httpx2.AsyncClient(transport=AiohttpTransport(limits=settings["limits"]), **settings)


def bare_aiohttp_session() -> Any:
    """Plain `aiohttp.ClientSession` with the SDK's pool size (asyncio only)."""
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=POOL.max_connections),
        timeout=aiohttp.ClientTimeout(total=60, sock_connect=5),
    )


def auth_headers(server: FakeServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}", "Accept": "application/json"}


async def run_pool(
    jobs: Sequence[Any], concurrency: int, call: Callable[[Any], Awaitable[None]]
) -> None:
    """Call ``call`` on every job with ``concurrency`` workers: the oracles' scheduler."""
    import anyio

    remaining = iter(jobs)

    async def worker() -> None:
        for job in remaining:
            await call(job)

    async with anyio.create_task_group() as group:
        for _ in range(min(concurrency, len(jobs))):
            group.start_soon(worker)


def cpu_seconds() -> float:
    """CPU time of this process (user + system), excluding the server's."""
    return time.process_time()


def finite(value: float) -> bool:
    return math.isfinite(value)


def environment() -> dict[str, Any]:
    """Versions and machine facts for the results header."""
    import platform
    from importlib import metadata

    versions = {}
    for name in (
        "kling-async",
        "httpx2",
        "httpcore2",
        "httpx",
        "httpcore",
        "httpx-aiohttp",
        "anyio",
        "attrs",
        "cattrs",
        "orjson",
        "pydantic",
        "msgspec",
        "aiohttp",
        "hypercorn",
        "starlette",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }
