"""The retry policy's decisions: what is retried, how long it waits, and Retry-After parsing."""

from __future__ import annotations

import email.utils

import httpx2
import pytest

from kling_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidInputError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
)
from kling_async._client import _status_error
from kling_async._redact import Redactor
from kling_async._retry import parse_retry_after

NOW = 1_800_000_000.0


def status_error(status: int, headers: dict[str, str] | None = None) -> APIStatusError:
    request = httpx2.Request("GET", "https://api.example/v1/kling/assets")
    response = httpx2.Response(status, headers=headers, json={"error": "x"}, request=request)
    return _status_error(response, Redactor("user:1-abc"))


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after": " 1.5 "}) == 1.5


def test_retry_after_as_http_date_counts_from_now() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=NOW) == pytest.approx(30.0)


def test_retry_after_date_in_the_past_means_no_wait() -> None:
    date = email.utils.formatdate(NOW - 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=NOW) == 0.0


@pytest.mark.parametrize("value", ["soon", "", "nan", "inf", "Mon, 99 Foo 2020"])
def test_unreadable_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after({"retry-after": value}) is None


def test_missing_retry_after_is_none() -> None:
    assert parse_retry_after({}) is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(status: int) -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.wait_before(1, status_error(status)) is not None


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 596, 501])
def test_client_errors_and_account_errors_are_never_retried(status: int) -> None:
    assert RetryPolicy().wait_before(1, status_error(status)) is None


def test_connection_errors_and_timeouts_are_retried() -> None:
    policy = RetryPolicy(jitter=0)
    assert policy.wait_before(1, APIConnectionError("reset")) == 0.5
    assert policy.wait_before(2, APITimeoutError("slow")) == 1.0


def test_invalid_bodies_are_not_retried() -> None:
    assert RetryPolicy().wait_before(1, ResponseValidationError("bad json")) is None


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=10, backoff_initial=0.5, backoff_max=3.0, jitter=0)
    error = status_error(503)
    waits = [policy.wait_before(n, error) for n in range(1, 6)]
    assert waits == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_spreads_waits_within_its_bounds() -> None:
    policy = RetryPolicy(backoff_initial=1.0, jitter=0.25)
    waits = {policy.wait_before(1, status_error(503)) for _ in range(50)}
    assert all(w is not None and 0.75 <= w <= 1.25 for w in waits)
    assert len(waits) > 1


def test_gives_up_when_retries_are_used_up() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.wait_before(2, status_error(503)) is not None
    assert policy.wait_before(3, status_error(503)) is None
    assert RetryPolicy(max_retries=0).wait_before(1, status_error(503)) is None


def test_rate_limit_without_retry_after_waits_longer_than_server_errors() -> None:
    policy = RetryPolicy(jitter=0)
    rate_limited = policy.wait_before(1, status_error(429))
    server_error = policy.wait_before(1, status_error(503))
    assert rate_limited == 10.0
    assert server_error is not None
    assert rate_limited > server_error


def test_retry_after_is_honoured_exactly_without_jitter() -> None:
    policy = RetryPolicy(jitter=0.25)
    assert policy.wait_before(1, status_error(429, {"Retry-After": "3"})) == 3.0
    assert policy.wait_before(1, status_error(503, {"Retry-After": "2"})) == 2.0


def test_retry_after_beyond_the_cap_gives_up_instead_of_sleeping() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.wait_before(1, status_error(429, {"Retry-After": "600"})) is None


def test_rate_limit_error_exposes_retry_after() -> None:
    error = status_error(429, {"Retry-After": "12"})
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.0


@pytest.mark.parametrize("field", ["max_retries", "backoff_initial", "rate_limit_wait"])
def test_policy_rejects_negative_numbers(field: str) -> None:
    with pytest.raises(InvalidInputError, match=field):
        RetryPolicy(**{field: -1})
