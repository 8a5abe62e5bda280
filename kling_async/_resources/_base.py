"""What every endpoint namespace shares: the request protocol it sends through, and helpers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Callable, Mapping
from contextlib import aclosing
from typing import Protocol, TypeAlias, TypeVar

from .._converter import Decoder
from .._types import CallContext, NotGiven, TimeoutTypes

__all__ = ["RequestContent", "Requester", "Resource", "flatten", "query"]

T = TypeVar("T")
P = TypeVar("P")
ItemT = TypeVar("ItemT")

RequestContent: TypeAlias = "bytes | AsyncIterable[bytes]"
"""A request body: bytes, or chunks streamed as they are sent (see `Requester.request`)."""


class Requester(Protocol):
    """What an endpoint namespace needs from the client.

    The account of a call, and the one request core every call goes through (retries,
    timeouts, the deadline, error mapping). `KlingClient` provides it; tests may pass their own.
    """

    def account(self, email: str | None) -> str | None:
        """The account a call names: its own ``email=`` (checked), else the client's default."""
        ...

    async def request(
        self,
        method: str,
        path: str,
        cast_to: type[T] | Decoder[T],
        *,
        params: dict[str, str],
        timeout: TimeoutTypes | NotGiven,
        context: CallContext,
        content: RequestContent | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        """Send one API call and decode its 2xx body into ``cast_to``.

        ``content`` is the request body, sent with ``headers`` (its ``Content-Type``, and a
        ``Content-Length`` for a stream, which is otherwise sent chunked). A stream that is an
        async iterator (an async generator) is read once; any other async iterable is read
        afresh by each try. What the stream raises ends the call, as it is.

        Retries: a request that is not idempotent (a POST) is tried again only when the server
        surely did not act on it (no connection could be made; a 408 or 429 answer), within
        the client's retry policy, and only when its body can be sent again.

        ``check`` reads the decoded body of a 2xx answer and returns what failed when the body
        reports a failure (raised as `OperationFailedError`, never retried), else None.
        """
        ...


class Resource:
    """Base of the endpoint namespaces: holds the `Requester`."""

    __slots__ = ("_requester",)

    def __init__(self, requester: Requester) -> None:
        self._requester = requester


def query(**values: str | int | None) -> dict[str, str]:
    """The query parameters that were given, as strings, in wire names."""
    return {key: str(value) for key, value in values.items() if value is not None}


async def flatten(
    pages: AsyncGenerator[P, None], items: Callable[[P], tuple[ItemT, ...]]
) -> AsyncGenerator[ItemT, None]:
    """The items of every page, in order; closing it closes ``pages``."""
    async with aclosing(pages):
        async for page in pages:
            for item in items(page):
                yield item
