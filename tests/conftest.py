"""Shared fixtures: every async test runs on asyncio (on each HTTP transport) and on trio.

The ``asyncio-aiohttp`` runs make every `KlingClient` the test builds without ``http=``
use the aiohttp transport, so the SDK's behaviour is checked on both transports.
"""

from __future__ import annotations

import pytest

from kling_async import KlingClient


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
