"""The fake server's request log: what arrived, what is in flight, and waiters on both."""

from __future__ import annotations

import time
from typing import Any

import anyio
import attrs

from ._paths import api_path

__all__ = ["RecordedRequest", "RequestLog"]


@attrs.define(eq=False)
class RecordedRequest:
    """One request the fake server received (API and CDN requests; not ``/_fake/`` control).

    Attributes:
        method: HTTP method, e.g. ``"GET"``.
        path: the full URL path, e.g. ``"/v1/kling/assets"`` or ``"/_cdn/works/1.mp4"``.
        query: the query parameters (the last value wins when a name repeats).
        email: the account that served the request once resolved, else the raw ``email``
            query parameter (None when absent).
        start: `time.monotonic` when the request arrived.
        status: the status sent, or None while in flight and for ``hang``/``drop`` faults.
        end: `time.monotonic` when handling finished, or None while in flight.
        fault: the kind of fault injected into this request, if any.
        raw_path: the path exactly as sent, still percent-encoded (``path`` is decoded).
        headers: the request headers, names lower-cased (the last value wins when a name
            repeats).
    """

    method: str
    path: str
    query: dict[str, str]
    email: str | None
    start: float
    status: int | None = None
    end: float | None = None
    fault: str | None = None
    raw_path: str = ""
    headers: dict[str, str] = attrs.field(factory=dict)

    @property
    def api_path(self) -> str | None:
        """The path under ``/v1/kling`` (e.g. ``"/assets"``), or None for a non-API path."""
        return api_path(self.path)

    @property
    def duration(self) -> float | None:
        """Seconds between arrival and the end of handling, once finished."""
        return None if self.end is None else self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy."""
        return attrs.asdict(self)


class RequestLog:
    """Counts arrivals and concurrency, and wakes tasks waiting for either to reach a number."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._arrival_waiters: list[tuple[int, anyio.Event]] = []
        self._flight_waiters: list[tuple[int, anyio.Event]] = []
        self._idle_waiters: list[anyio.Event] = []

    def arrive(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        *,
        raw_path: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> RecordedRequest:
        """Record a new request as in flight."""
        record = RecordedRequest(
            method,
            path,
            query,
            query.get("email"),
            time.monotonic(),
            raw_path=path if raw_path is None else raw_path,
            headers=headers if headers is not None else {},
        )
        self.requests.append(record)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._arrival_waiters = _wake(self._arrival_waiters, len(self.requests))
        self._flight_waiters = _wake(self._flight_waiters, self.max_in_flight)
        return record

    def finish(self, record: RecordedRequest) -> None:
        """Mark ``record`` as handled (once; later calls do nothing)."""
        if record.end is None:
            record.end = time.monotonic()
            self.in_flight -= 1
            if self.in_flight == 0 and self._idle_waiters:
                for event in self._idle_waiters:
                    event.set()
                self._idle_waiters = []

    def reset(self) -> None:
        """Forget recorded requests; the concurrency high-water mark restarts from now."""
        self.requests = []
        self.max_in_flight = self.in_flight

    async def wait_for_requests(self, count: int) -> None:
        """Return once ``count`` requests have arrived since the last reset."""
        if len(self.requests) >= count:
            return
        event = anyio.Event()
        self._arrival_waiters.append((count, event))
        await event.wait()

    async def wait_in_flight(self, count: int) -> None:
        """Return once ``count`` requests have been in flight at once since the last reset."""
        if self.max_in_flight >= count:
            return
        event = anyio.Event()
        self._flight_waiters.append((count, event))
        await event.wait()

    async def wait_idle(self) -> None:
        """Return once no request is in flight."""
        if self.in_flight == 0:
            return
        event = anyio.Event()
        self._idle_waiters.append(event)
        await event.wait()

    def stats(self) -> dict[str, int]:
        """Request count, in-flight count and its high-water mark."""
        return {
            "requests": len(self.requests),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


def _wake(waiters: list[tuple[int, anyio.Event]], reached: int) -> list[tuple[int, anyio.Event]]:
    if not waiters:
        return waiters
    pending = []
    for wanted, event in waiters:
        if reached >= wanted:
            event.set()
        else:
            pending.append((wanted, event))
    return pending
