"""Pacing the starts of calls: ``max_per_second`` of the batch helpers."""

from __future__ import annotations

import math

import anyio

from .._exceptions import InvalidInputError
from .._params import shown

__all__ = ["Pacer", "make_pacer"]


class Pacer:
    """Spaces out call starts evenly: one every ``1 / per_second`` seconds, the first at once.

    A start is recorded only when it is taken, so a waiter cancelled before its turn leaves
    no gap behind it. Uses only anyio's clock and lock: works on asyncio and trio.
    """

    __slots__ = ("_interval", "_last_start", "_turn")

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._last_start: float | None = None
        self._turn = anyio.Lock()

    @property
    def interval(self) -> float:
        """Seconds between two starts."""
        return self._interval

    @property
    def last_start(self) -> float | None:
        """When the latest start was taken, on anyio's clock (None before the first).

        A start is taken no sooner than `interval` after the one before it, so successive
        values are at least that far apart; tests measure pacing at the client with it.
        """
        return self._last_start

    async def wait(self) -> None:
        """Return when the caller may start its call (waiters are served in arrival order)."""
        async with self._turn:
            delay = self.try_start()
            if delay:
                start = anyio.current_time() + delay
                await anyio.sleep(delay)
                # Record the start slept until, even if the timer fired a hair early.
                self._last_start = max(anyio.current_time(), start)

    def try_start(self) -> float:
        """Take a start now and return 0.0 when one is allowed; else the seconds until it is.

        For a caller that schedules its own starts (the fan-out engine paces launches this way,
        so starts keep the order it chooses, and nothing waits once it stops launching).
        """
        now = anyio.current_time()
        if self._last_start is not None:
            earliest = self._last_start + self._interval
            if now < earliest:
                return earliest - now
        self._last_start = now
        return 0.0


def make_pacer(max_per_second: float | None) -> Pacer | None:
    """A `Pacer` for ``max_per_second`` (None: no pacing); reject anything but a positive number."""
    if max_per_second is None:
        return None
    rate = math.nan
    if isinstance(max_per_second, (int, float)) and not isinstance(max_per_second, bool):
        try:
            rate = float(max_per_second)
        except OverflowError:  # an int too large for a float
            rate = math.inf
    if not math.isfinite(rate) or rate <= 0:
        raise InvalidInputError(
            f"max_per_second must be a positive finite number or None, not {shown(max_per_second)}"
        )
    return Pacer(rate)
