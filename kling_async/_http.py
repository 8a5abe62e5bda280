"""The HTTP library kling_async stands on, imported here and nowhere else.

That library is httpx2, the maintained continuation of httpx: the same API under another
import name. Every other module names it through this one (``from ._http import httpx``), so
the SDK's code reads as httpx code and moving it means changing one line.

An application may still hand the SDK an ``httpx.AsyncClient`` from encode/httpx 0.28 (frozen
since 2024) as ``http_client=``. `Library` describes either distribution: the request class
the core builds for that client and the exception classes it maps to the SDK's errors. The SDK
never imports encode/httpx itself: when such a client exists, the application imported it.
"""

from __future__ import annotations

import asyncio
import sys
from types import ModuleType
from typing import Any, Literal

import attrs
import httpx2 as httpx

__all__ = [
    "AIOHTTP_NEEDS_ASYNCIO",
    "HTTP_LIBRARY",
    "HTTPBackend",
    "Library",
    "build_client",
    "false_timeout",
    "httpx",
    "library_of",
    "on_asyncio",
]

HTTPBackend = Literal["httpx2", "aiohttp"]
"""How a client the SDK builds sends: httpx2's own transport (asyncio and trio), or aiohttp's
through httpx-aiohttp (asyncio only; ``pip install 'kling-async[aiohttp]'``)."""


@attrs.frozen
class Library:
    """What the request core needs from an httpx distribution.

    Attributes:
        name: the distribution's import name, ``"httpx2"`` or ``"httpx"``.
        request: its ``Request`` class (a client sends only its own library's requests).
        timeout: its ``TimeoutException``.
        decoding: its ``DecodingError`` and httpx2's (a body its ``Content-Encoding`` does not
            describe; the SDK decodes bodies itself, with httpx2).
        transport: its ``TransportError`` (refused, reset, cut short, protocol errors).
        error: its ``HTTPError``, the base of everything it raises.
    """

    name: str
    request: Any
    timeout: type[Exception]
    decoding: tuple[type[Exception], ...]
    transport: type[Exception]
    error: type[Exception]

    @classmethod
    def of_module(cls, module: ModuleType) -> Library:
        """The `Library` of an imported httpx distribution."""
        return cls(
            name=module.__name__,
            request=module.Request,
            timeout=module.TimeoutException,
            decoding=tuple({module.DecodingError, httpx.DecodingError}),
            transport=module.TransportError,
            error=module.HTTPError,
        )


HTTP_LIBRARY = Library.of_module(httpx)
"""The library of the clients the SDK builds itself: httpx2."""


def library_of(client: object) -> Library | None:
    """The library ``client`` is an ``AsyncClient`` of (httpx2, or encode/httpx); else None."""
    if isinstance(client, httpx.AsyncClient):
        return HTTP_LIBRARY
    legacy = sys.modules.get("httpx")  # present only if the application imported it
    if legacy is not None and isinstance(client, getattr(legacy, "AsyncClient", ())):
        return Library.of_module(legacy)
    return None


def build_client(
    backend: HTTPBackend, *, limits: httpx.Limits, timeout: httpx.Timeout
) -> httpx.AsyncClient:
    """The http client a `KlingClient` builds for itself, on ``backend``'s transport.

    Raises:
        ValueError: an unknown backend, aiohttp without its extra installed, or aiohttp while
            a trio loop is running (the caller turns it into `InvalidInputError`).
    """
    if backend == "httpx2":
        return httpx.AsyncClient(limits=limits, timeout=timeout)
    if backend != "aiohttp":
        raise ValueError(f"http must be 'httpx2' or 'aiohttp', not {backend!r}")
    if not on_asyncio(default=True):
        raise ValueError(AIOHTTP_NEEDS_ASYNCIO)
    try:
        from httpx_aiohttp.httpx2 import AiohttpTransport
    except ImportError:
        raise ValueError(
            "http='aiohttp' needs the aiohttp extra: pip install 'kling-async[aiohttp]'"
        ) from None
    return httpx.AsyncClient(
        transport=AiohttpTransport(limits=limits), limits=limits, timeout=timeout
    )


AIOHTTP_NEEDS_ASYNCIO = "http='aiohttp' runs on asyncio only; on trio use the default http='httpx2'"


def on_asyncio(*, default: bool) -> bool:
    """Whether the running event loop is asyncio's (``default`` when no loop runs)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        if trio is not None:
            try:
                trio.lowlevel.current_task()
            except RuntimeError:
                return default
            return False
        return default
    return True


# httpx-aiohttp maps every aiohttp connection error to ConnectTimeout, refusals and
# disconnections included; these are their names in httpx's own vocabulary.
_AIOHTTP_NAMES = {
    "ClientConnectorError": "ConnectError",
    "ClientConnectorDNSError": "ConnectError",
    "ServerDisconnectedError": "RemoteProtocolError",
}


def false_timeout(error: BaseException) -> str | None:
    """For a timeout that was no timeout (aiohttp refused or dropped), the failure's name."""
    cause = error.__cause__
    # asyncio.TimeoutError is TimeoutError from 3.11 on; on 3.10 it is a class of its own.
    if cause is None or isinstance(cause, (TimeoutError, asyncio.TimeoutError)):
        return None
    module = type(cause).__module__
    if not module.startswith("aiohttp"):
        return None
    name = type(cause).__name__
    return _AIOHTTP_NAMES.get(name, name)
