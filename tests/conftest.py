"""Shared fixtures: every async test runs on asyncio (on each HTTP transport) and on trio.

The ``asyncio-aiohttp`` runs make every `KlingClient` the test builds without ``http=``
use the aiohttp transport, so the SDK's behaviour is checked on both transports.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import anyio
import httpx2
import pytest

from kling_async import KlingClient, RetryPolicy
from kling_async.batch._pacing import Pacer
from kling_async.testing import FakeKlingServer


@pytest.fixture(
    params=[
        pytest.param(("asyncio", "httpx2"), id="asyncio"),
        pytest.param(("asyncio", "aiohttp"), id="asyncio-aiohttp"),
        pytest.param(("trio", "httpx2"), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    backend, http = request.param
    if http != "httpx2":
        defaults = KlingClient.__init__.__kwdefaults__
        assert defaults is not None
        assert "http" in defaults
        monkeypatch.setitem(defaults, "http", http)
    return str(backend)


@pytest.fixture
def http_transport(request: pytest.FixtureRequest, anyio_backend: str) -> str:
    """The transport the test's clients use by default: "httpx2" or "aiohttp"."""
    return str(request.node.callspec.params["anyio_backend"][1])


@pytest.fixture
def pacer_starts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every start a `Pacer` lets go during the test, as `Pacer.last_start`: when the call was let
    go, measured at the client on anyio's clock. (The server notes an arrival later than that,
    by a delay that varies with the machine's load.)"""
    starts: list[float] = []

    def note(pacer: Pacer) -> None:
        if pacer.last_start is not None and (not starts or starts[-1] != pacer.last_start):
            starts.append(pacer.last_start)

    try_start, wait = Pacer.try_start, Pacer.wait

    def recording_try_start(self: Pacer) -> float:
        pause = try_start(self)
        note(self)
        return pause

    async def recording_wait(self: Pacer) -> None:
        await wait(self)
        note(self)

    monkeypatch.setattr(Pacer, "try_start", recording_try_start)
    monkeypatch.setattr(Pacer, "wait", recording_wait)
    return starts


HeldClient = Callable[..., AbstractAsyncContextManager[KlingClient]]
"""``held_client(fake, count, *, email=None)``: see the `held_client` fixture."""


@pytest.fixture
def held_client() -> HeldClient:
    """A factory of clients whose first ``count`` requests wait, just before they are sent,
    until ``count`` of them wait at once.

    A test that gets past them shows the SDK had ``count`` requests in flight together,
    however slowly the machine runs it; one that cannot hangs until its deadline.
    """

    @contextlib.asynccontextmanager
    async def make(
        fake: FakeKlingServer, count: int, *, email: str | None = None
    ) -> AsyncIterator[KlingClient]:
        arrived = 0
        all_in = anyio.Event()

        async def hold(request: httpx2.Request) -> None:
            nonlocal arrived
            arrived += 1
            if arrived >= count:
                all_in.set()
            await all_in.wait()

        retry = RetryPolicy(max_retries=2, backoff_initial=0.01, backoff_max=0.05, jitter=0.0)
        async with (
            httpx2.AsyncClient(event_hooks={"request": [hold]}) as http,
            KlingClient(
                fake.token, base_url=fake.base_url, email=email, retry=retry, http_client=http
            ) as client,
        ):
            yield client

    return make
