"""Errors, retries and timeouts, provoked on the fake server over real sockets."""

from __future__ import annotations

import email.utils
import logging
import socket
import time

import anyio
import pytest

from kling_async import (
    AccountError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    KlingClient,
    KlingError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)
from kling_async.testing import FAST_RETRY, FakeKlingServer, Fault

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(accounts=2, works_per_account=12, elements_per_account=2),
]


def api_calls(fake: FakeKlingServer) -> int:
    return sum(1 for r in fake.requests if r.path.startswith("/v1/kling"))


# -- status codes map to the documented classes ----------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (404, NotFoundError),
        (596, AccountError),
        (403, APIStatusError),
        (409, APIStatusError),
        (501, ServerError),
    ],
)
async def test_non_retryable_statuses_raise_their_class_after_one_request(
    client: KlingClient, fake: FakeKlingServer, status: int, cls: type[APIStatusError]
) -> None:
    fake.add_faults(Fault.status(status, body={"error": f"boom {status}", "code": status}))
    with pytest.raises(cls) as info:
        await client.assets.list()
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.message == f"boom {status}"
    assert error.body == {"error": f"boom {status}", "code": status}
    assert error.response.status_code == status
    assert f"{status} boom {status}" in str(error)
    assert api_calls(fake) == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (408, APIStatusError),
    ],
)
async def test_retryable_statuses_are_tried_max_retries_plus_one_times(
    client: KlingClient, fake: FakeKlingServer, status: int, cls: type[APIStatusError]
) -> None:
    fake.add_faults(*[Fault.status(status)] * 3)
    with pytest.raises(cls) as info:
        await client.assets.list()
    assert info.value.status_code == status
    assert api_calls(fake) == 3


async def test_a_transient_failure_then_success_returns_the_page(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.status(503), Fault.status(429))
    page = await client.assets.list(page_size=2)
    assert len(page.history) == 2
    assert api_calls(fake) == 3


async def test_max_retries_zero_turns_retrying_off(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.status(503))
    with pytest.raises(ServerError):
        await client.with_options(max_retries=0).assets.list()
    assert api_calls(fake) == 1


async def test_wrong_token_is_an_authentication_error_with_the_server_message(
    fake: FakeKlingServer,
) -> None:
    async with KlingClient(token="user:1-wrong", email=fake.emails[0], base_url=fake.base_url) as c:
        with pytest.raises(AuthenticationError) as info:
            await c.assets.list()
    assert info.value.message == "Unauthorized"
    assert api_calls(fake) == 1


async def test_missing_email_with_several_accounts_is_a_bad_request(fake: FakeKlingServer) -> None:
    async with KlingClient(token=fake.token, base_url=fake.base_url) as c:
        with pytest.raises(BadRequestError) as info:
            await c.assets.list()
    assert "email" in info.value.message


async def test_unknown_element_is_not_found(client: KlingClient) -> None:
    with pytest.raises(NotFoundError):
        await client.elements.get("u_000000000000000")


async def test_errors_name_the_account_and_page(client: KlingClient, fake: FakeKlingServer) -> None:
    fake.add_faults(Fault.status(400))
    with pytest.raises(BadRequestError) as info:
        await client.assets.list(page_num=3)
    assert info.value.email == fake.emails[0]
    assert info.value.page_num == 3


async def test_every_error_is_a_kling_error(client: KlingClient, fake: FakeKlingServer) -> None:
    fake.add_faults(Fault.status(596, body={"error": "Account is in error state", "code": 596}))
    with pytest.raises(KlingError):
        await client.assets.list()


async def test_error_messages_never_contain_the_token(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    secret = fake.token.split(":", 1)[1]
    fake.add_faults(Fault.status(402))
    with pytest.raises(PaymentRequiredError) as info:
        await client.assets.list()
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert secret not in repr(info.value.response)
    assert secret not in repr(info.value.request)


# -- Retry-After ------------------------------------------------------------------------------


async def test_retry_after_seconds_is_honoured(
    client: KlingClient, fake: FakeKlingServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_faults(Fault.status(429, retry_after="1"))
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="kling_async"):
        page = await client.assets.list(page_size=1)
    assert page.history
    assert time.monotonic() - started >= 0.9
    assert any("in 1.00 s after 429" in r.getMessage() for r in caplog.records)
    assert api_calls(fake) == 2


async def test_retry_after_http_date_is_honoured(
    client: KlingClient, fake: FakeKlingServer, caplog: pytest.LogCaptureFixture
) -> None:
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    fake.add_faults(Fault.status(503, retry_after=past))
    with caplog.at_level(logging.INFO, logger="kling_async"):
        await client.assets.list(page_size=1)
    assert any("in 0.00 s after 503" in r.getMessage() for r in caplog.records)
    assert api_calls(fake) == 2


async def test_retry_after_beyond_the_cap_raises_at_once(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.status(429, retry_after="3600"))
    started = time.monotonic()
    with pytest.raises(RateLimitError) as info:
        await client.assets.list()
    assert info.value.retry_after == 3600
    assert time.monotonic() - started < 30  # generous: it must not sleep for the hour
    assert api_calls(fake) == 1


async def test_rate_limit_without_retry_after_uses_the_long_fallback_wait(
    fake: FakeKlingServer, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetryPolicy(backoff_initial=0.01, rate_limit_wait=0.3, jitter=0)
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url, retry=policy
    ) as client:
        fake.add_faults(Fault.status(429), Fault.status(503))
        with caplog.at_level(logging.INFO, logger="kling_async"):
            await client.assets.list(page_size=1)
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert "in 0.30 s after 429" in waits[0]
    assert "in 0.02 s after 503" in waits[1]


# -- timeouts and broken connections ----------------------------------------------------------


async def test_a_hung_request_times_out_as_api_timeout_error(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.hang(), Fault.hang())
    with pytest.raises(APITimeoutError):
        await client.with_options(timeout=0.2, max_retries=1).assets.list()
    assert api_calls(fake) == 2


async def test_per_call_timeout_overrides_the_clients(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.hang())
    with pytest.raises(APITimeoutError) as info:
        await client.with_options(max_retries=0).assets.list(timeout=0.2)
    assert isinstance(info.value, APIConnectionError)


async def test_timeouts_are_retried_then_succeed(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.hang())
    page = await client.assets.list(page_size=1, timeout=0.2)
    assert page.history
    assert api_calls(fake) == 2


async def test_a_dropped_connection_is_a_connection_error(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.drop())
    with pytest.raises(APIConnectionError) as info:
        await client.with_options(max_retries=0).assets.list()
    assert not isinstance(info.value, APITimeoutError)


async def test_a_dropped_connection_is_retried(client: KlingClient, fake: FakeKlingServer) -> None:
    fake.add_faults(Fault.drop())
    page = await client.assets.list(page_size=1)
    assert page.history
    assert api_calls(fake) == 2


async def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with KlingClient(
        token="user:1-abc", base_url=f"http://127.0.0.1:{port}/v1/kling", retry=FAST_RETRY
    ) as client:
        with pytest.raises(APIConnectionError, match="ConnectError"):
            await client.assets.list()


async def test_malformed_json_is_a_response_validation_error_not_retried(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.malformed_json())
    with pytest.raises(ResponseValidationError) as info:
        await client.assets.list()
    assert info.value.path == "$"
    assert info.value.response is not None
    assert api_calls(fake) == 1


async def test_cancelling_a_call_returns_promptly_and_frees_the_connection(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.hang())
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.assets.list)
        await fake.wait_in_flight(1)
        tg.cancel_scope.cancel()
    assert client._pool_slots.borrowed_tokens == 0
    # the client is still usable afterwards
    page = await client.assets.list(page_size=1)
    assert page.history


async def test_validation_errors_name_the_account_and_page_too(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.malformed_json())
    with pytest.raises(ResponseValidationError) as info:
        await client.assets.list(page_num=2)
    assert info.value.email == fake.emails[0]
    assert info.value.page_num == 2


async def test_a_text_error_body_becomes_the_message(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.status(403, body="Forbidden by the gateway"))
    with pytest.raises(APIStatusError) as info:
        await client.assets.list()
    assert info.value.message == "Forbidden by the gateway"
    assert info.value.body == "Forbidden by the gateway"


async def test_an_empty_error_body_falls_back_to_the_reason_phrase(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.status(404, body=b""))
    with pytest.raises(NotFoundError) as info:
        await client.elements.get("u_1")
    assert info.value.body is None
    assert info.value.message == "Not Found"


async def test_connection_failures_are_logged_per_attempt(
    client: KlingClient, fake: FakeKlingServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_faults(Fault.drop())
    with caplog.at_level(logging.DEBUG, logger="kling_async"):
        await client.assets.list(page_size=1)
    messages = [r.getMessage() for r in caplog.records]
    # httpx2's transport calls a cut body RemoteProtocolError; aiohttp's (mapped) ReadError.
    assert any(
        "-> RemoteProtocolError (attempt 1/3" in m or "-> ReadError (attempt 1/3" in m
        for m in messages
    )
    assert any("after APIConnectionError (retry 1 of 2)" in m for m in messages)
