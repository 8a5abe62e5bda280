"""What every endpoint namespace shares: the request protocol it sends through, and helpers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Protocol, TypeVar

from .._types import CallContext, NotGiven, TimeoutTypes

__all__ = ["Requester", "Resource", "flatten", "query"]

T = TypeVar("T")
P = TypeVar("P")
ItemT = TypeVar("ItemT")


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
        cast_to: type[T],
        *,
        params: dict[str, str],
        timeout: TimeoutTypes | NotGiven,
        context: CallContext,
    ) -> T:
        """Send one API call and decode its 2xx body into ``cast_to``."""
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
