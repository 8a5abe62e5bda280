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

import sys
from types import ModuleType
from typing import Any

import attrs
import httpx2 as httpx

__all__ = ["HTTP_LIBRARY", "Library", "httpx", "library_of"]


@attrs.frozen
class Library:
    """What the request core needs from an httpx distribution.

    Attributes:
        name: the distribution's import name, ``"httpx2"`` or ``"httpx"``.
        request: its ``Request`` class (a client sends only its own library's requests).
        timeout: its ``TimeoutException``.
        decoding: its ``DecodingError`` (a body its ``Content-Encoding`` does not describe).
        transport: its ``TransportError`` (refused, reset, cut short, protocol errors).
        error: its ``HTTPError``, the base of everything it raises.
    """

    name: str
    request: Any
    timeout: type[Exception]
    decoding: type[Exception]
    transport: type[Exception]
    error: type[Exception]

    @classmethod
    def of_module(cls, module: ModuleType) -> Library:
        """The `Library` of an imported httpx distribution."""
        return cls(
            name=module.__name__,
            request=module.Request,
            timeout=module.TimeoutException,
            decoding=module.DecodingError,
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
