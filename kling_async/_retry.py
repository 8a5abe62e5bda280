"""When to try a request again, and how long to wait first."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from typing import Any

import attrs

from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    InvalidInputError,
    RateLimitError,
)
from ._params import MAX_INT, shown

__all__ = ["RetryPolicy", "parse_retry_after"]


def _count(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    name = attribute.name
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInputError(
            f"RetryPolicy.{name} must be an int from 0 to {MAX_INT}, not {shown(value)}"
        )


def _secs(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    name = attribute.name
    try:
        seconds = float(value) if isinstance(value, (int, float)) else math.nan
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputError(
            f"RetryPolicy.{name} must be finite seconds of at least 0, not {shown(value)}"
        )


def _fraction(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    name = attribute.name
    _secs(_, attribute, value)
    if value > 1:  # type: ignore[operator]  # _secs proved it a number
        raise InvalidInputError(f"RetryPolicy.{name} must be between 0 and 1, not {value!r}")


def _statuses(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    name = attribute.name
    if not isinstance(value, frozenset) or not all(
        isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 999
        for code in value
    ):
        raise InvalidInputError(
            f"RetryPolicy.{name} must be a frozenset of HTTP statuses (100-999), not {value!r}"
        )


@attrs.frozen
class RetryPolicy:
    """How the client retries: which failures, how often, and how long it waits.

    Retried: connection errors, timeouts, and the statuses in ``retry_statuses``. Never retried:
    400, 401, 402, 404 and 596, or anything else outside ``retry_statuses``. A POST (an upload)
    is not idempotent: the client retries it, within this policy, only when the service surely
    did not act on it (no connection could be made; a 408 or 429 answer).

    The wait before retry ``n`` (1-based) is the server's ``Retry-After`` when it sent one; else,
    for a 429, ``rate_limit_wait`` (Kling's 429 means every account is at capacity, so it waits
    long, like the vendor's own scripts); else exponential backoff
    ``min(backoff_max, backoff_initial * 2 ** (n - 1))``. Waits other than Retry-After get up to
    ``jitter`` of random spread (0.25 = +-25%), so concurrent callers do not retry in lockstep.
    A Retry-After longer than ``max_retry_after`` is not slept on: the error is raised at once.

    Example::

        client = KlingClient(retry=RetryPolicy(max_retries=5, rate_limit_wait=15.0))
    """

    max_retries: int = attrs.field(default=2, validator=_count)
    backoff_initial: float = attrs.field(default=0.5, validator=_secs)
    backoff_max: float = attrs.field(default=8.0, validator=_secs)
    rate_limit_wait: float = attrs.field(default=10.0, validator=_secs)
    max_retry_after: float = attrs.field(default=60.0, validator=_secs)
    jitter: float = attrs.field(default=0.25, validator=_fraction)
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({408, 429, 500, 502, 503, 504}),
        validator=_statuses,
    )

    def is_retryable(self, error: APIError) -> bool:
        """Whether ``error`` is worth another try under this policy."""
        if isinstance(error, APIStatusError):
            return error.status_code in self.retry_statuses
        return isinstance(error, APIConnectionError)

    def wait_before(self, retry_number: int, error: APIError) -> float | None:
        """Seconds to wait before retry ``retry_number`` (1-based), or None to give up now.

        None when the error is not retryable, the retries are used up, or the server asked for
        a wait longer than ``max_retry_after``.
        """
        if retry_number > self.max_retries or not self.is_retryable(error):
            return None
        if isinstance(error, APIStatusError):
            retry_after = parse_retry_after(error.response.headers)
            if retry_after is not None:
                return retry_after if retry_after <= self.max_retry_after else None
            if isinstance(error, RateLimitError):
                return self._spread(self.rate_limit_wait)
        return self._spread(min(self.backoff_max, self.backoff_initial * 2 ** (retry_number - 1)))

    def _spread(self, seconds: float) -> float:
        if not self.jitter:
            return seconds
        return seconds * random.uniform(1.0 - self.jitter, 1.0 + self.jitter)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from ``Retry-After`` (seconds or an HTTP date).

    None when the header is absent or unreadable; a date in the past gives 0.
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity: not a usable wait
        return None
    return max(0.0, seconds)
