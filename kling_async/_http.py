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
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

import attrs
import httpx2 as httpx

if TYPE_CHECKING:  # encode/httpx, for the types an application may pass; never imported
    import httpx as legacy_httpx

__all__ = [
    "AIOHTTP_NEEDS_ASYNCIO",
    "HTTP_LIBRARY",
    "AnyAsyncClient",
    "AnyLimits",
    "AnyTimeout",
    "HTTPBackend",
    "Library",
    "build_client",
    "foreign_limits",
    "foreign_timeout",
    "httpx",
    "library_of",
    "on_asyncio",
]

_T = TypeVar("_T")

AnyAsyncClient: TypeAlias = "httpx.AsyncClient | legacy_httpx.AsyncClient"
"""An ``AsyncClient`` the SDK can send through: httpx2's, or encode/httpx's."""

AnyTimeout: TypeAlias = "httpx.Timeout | legacy_httpx.Timeout"
"""A ``Timeout`` of httpx2 or of encode/httpx."""

AnyLimits: TypeAlias = "httpx.Limits | legacy_httpx.Limits"
"""A ``Limits`` of httpx2 or of encode/httpx."""

HTTPBackend = Literal["httpx2", "aiohttp"]
"""How a client the SDK builds sends: httpx2's own transport (asyncio and trio), or aiohttp's
through httpx-aiohttp (asyncio only; ``pip install 'kling-async[aiohttp]'``)."""


@attrs.frozen
class Library:
    """What the request core needs from an httpx distribution.

    Attributes:
        request: its ``Request`` class (a client sends only its own library's requests).
        timeout: its ``TimeoutException``.
        decoding: its ``DecodingError`` and httpx2's (a body its ``Content-Encoding`` does not
            describe; the SDK decodes bodies itself, with httpx2).
        transport: its ``TransportError`` (refused, reset, cut short, protocol errors).
        unsent: its failures that happen before any of the request is sent (no connection
            could be made, or none was free in time): retrying them is safe for any request.
        error: its ``HTTPError``, the base of everything it raises.
    """

    request: Any
    timeout: type[Exception]
    decoding: tuple[type[Exception], ...]
    transport: type[Exception]
    unsent: tuple[type[Exception], ...]
    error: type[Exception]

    @classmethod
    def of_module(cls, module: ModuleType) -> Library:
        """The `Library` of an imported httpx distribution."""
        return cls(
            request=module.Request,
            timeout=module.TimeoutException,
            decoding=tuple({module.DecodingError, httpx.DecodingError}),
            transport=module.TransportError,
            unsent=(module.ConnectError, module.ConnectTimeout, module.PoolTimeout),
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
        ValueError: aiohttp without its extra installed, or while a trio loop is running (the
            caller turns it into `InvalidInputError`).
    """
    if backend == "httpx2":
        return httpx.AsyncClient(limits=limits, timeout=timeout)
    if not on_asyncio(default=True):
        raise ValueError(AIOHTTP_NEEDS_ASYNCIO)
    return httpx.AsyncClient(transport=_aiohttp_transport(limits), limits=limits, timeout=timeout)


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


def foreign_timeout(value: object) -> httpx.Timeout | None:
    """An encode/httpx ``Timeout`` as httpx2's; None for anything else."""
    return _foreign(value, "Timeout", lambda t: httpx.Timeout(**t.as_dict()))


def foreign_limits(value: object) -> httpx.Limits | None:
    """An encode/httpx ``Limits`` as httpx2's; None for anything else."""
    return _foreign(
        value,
        "Limits",
        lambda lim: httpx.Limits(
            max_connections=lim.max_connections,
            max_keepalive_connections=lim.max_keepalive_connections,
            keepalive_expiry=lim.keepalive_expiry,
        ),
    )


def _foreign(value: object, name: str, convert: Callable[[Any], _T]) -> _T | None:
    legacy = sys.modules.get("httpx")
    cls = getattr(legacy, name, None) if legacy is not None else None
    return convert(value) if isinstance(cls, type) and isinstance(value, cls) else None


def _aiohttp_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """httpx-aiohttp's transport, with every failure in httpx2's terms.

    httpx-aiohttp reports a refused or dropped connection as ``ConnectTimeout`` and lets some
    aiohttp errors through as they are (a malformed response's ``ClientResponseError``, whose
    ``request_info`` holds the request's headers, token included). This wrapper raises
    httpx2's own classes instead, chained to nothing.
    """
    try:
        import aiohttp
        from httpx_aiohttp.httpx2 import AiohttpTransport
    except ImportError:
        raise ValueError(
            "http='aiohttp' needs the aiohttp extra: pip install 'kling-async[aiohttp]'"
        ) from None

    # asyncio.TimeoutError is TimeoutError from 3.11 on; on 3.10 it is a class of its own.
    timeouts = (TimeoutError, asyncio.TimeoutError)

    def in_httpx_terms(error: BaseException, request: httpx.Request) -> httpx.HTTPError | None:
        cause = error.__cause__ if isinstance(error, httpx.HTTPError) else error
        if isinstance(error, httpx.TimeoutException) and isinstance(cause, timeouts):
            return None  # a real timeout, already in httpx2's terms
        if isinstance(cause, aiohttp.ClientConnectorError):
            return httpx.ConnectError(str(error), request=request)
        if isinstance(cause, timeouts):
            return httpx.ReadTimeout(str(error), request=request)
        if isinstance(cause, aiohttp.ClientError):
            return httpx.RemoteProtocolError(str(error), request=request)
        return None

    class Stream(httpx.AsyncByteStream):
        def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
            self._inner, self._request = inner, request

        async def __aiter__(self) -> AsyncIterator[bytes]:
            iterator = self._inner.__aiter__()
            while True:
                failure: httpx.HTTPError | None = None
                try:
                    chunk = await iterator.__anext__()
                except StopAsyncIteration:
                    return
                except (httpx.HTTPError, aiohttp.ClientError, *timeouts) as error:
                    failure = in_httpx_terms(error, self._request)
                    if failure is None:
                        raise
                if failure is not None:
                    raise failure  # outside the handler: nothing chained to it
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    class Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            failure: httpx.HTTPError | None = None
            try:
                response: httpx.Response = await super().handle_async_request(request)
            except (httpx.HTTPError, aiohttp.ClientError, *timeouts) as error:
                failure = in_httpx_terms(error, request)
                if failure is None:
                    raise
            if failure is not None:
                raise failure  # outside the handler: nothing chained to it
            assert isinstance(response.stream, httpx.AsyncByteStream)
            response.stream = Stream(response.stream, request)
            return response

    return Transport(limits=limits)
