"""Shared fixtures: every async test runs on asyncio (on each HTTP transport) and on trio.

The ``asyncio-aiohttp`` runs make every `KlingClient` the test builds without ``http=``
use the aiohttp transport, so the SDK's behaviour is checked on both transports.

``fake`` is a `FakeKlingServer` on loopback and ``client`` a `KlingClient` pointed at it
(`FakeKlingServer.client`: the first account, fast retries). A module or a test chooses their
settings with markers, the closest winning::

    pytestmark = pytest.mark.fake(accounts=2, works_per_account=30, seed=7)

    @pytest.mark.client(email=None)
    async def test_without_a_default_account(fake, client): ...
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

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


def marker_options(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """The keyword arguments of every ``pytest.mark.<name>`` on the test, the closest winning."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(name))):
        options.update(marker.kwargs)
    return options


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeKlingServer]:
    """A running `FakeKlingServer`, built with the test's ``pytest.mark.fake(...)`` options."""
    async with FakeKlingServer(**marker_options(request, "fake")) as server:
        yield server


@pytest.fixture
async def client(
    fake: FakeKlingServer, request: pytest.FixtureRequest
) -> AsyncIterator[KlingClient]:
    """``fake.client(...)`` with the test's ``pytest.mark.client(...)`` options, open."""
    async with fake.client(**marker_options(request, "client")) as kling:
        yield kling


@pytest.fixture
def fake_and_client(
    fake: FakeKlingServer, client: KlingClient
) -> tuple[FakeKlingServer, KlingClient]:
    """Both at once."""
    return fake, client


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
