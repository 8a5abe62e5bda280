"""Shared fixtures: every async test runs on asyncio (on each HTTP transport) and on trio.

The ``asyncio-aiohttp`` runs make every `KlingClient` the test builds without ``http=``
use the aiohttp transport, so the SDK's behaviour is checked on both transports.
"""

from __future__ import annotations

import pytest

from kling_async import KlingClient
from kling_async._pacing import Pacer


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
