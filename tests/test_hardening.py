"""Defects found by a black-box probe: each test here failed before its fix.

Hostile server bodies, a caller's own http client, out-of-range values and bad arguments,
all over real loopback HTTP against the fake server, on asyncio and trio.
"""

from __future__ import annotations

import logging
import math
import traceback

import httpx2
import pytest

from kling_async import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ClientClosedError,
    InvalidInputError,
    KlingClient,
    RetryPolicy,
    ServerError,
    Work,
    batch,
)
from kling_async.testing import FakeKlingServer, Fault

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(
        accounts=2, works_per_account=12, uploads_per_account=6, elements_per_account=2, seed=3
    ),
]


def api_calls(fake: FakeKlingServer) -> int:
    return sum(1 for r in fake.requests if r.path.startswith("/v1/kling"))


def everything_reachable(error: BaseException) -> str:
    """Every text an error exposes: str, repr, traceback with locals, and request headers."""
    parts = [str(error), repr(error)]
    # From the frame below the test's own: the test's locals are not the SDK's to hide.
    below_test = error.__traceback__.tb_next if error.__traceback__ else None
    rendered = traceback.TracebackException(
        type(error), error, below_test, capture_locals=True
    ).format()
    parts.append("".join(rendered))
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        exc = stack.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        for name in ("request", "response", "message", "body"):
            try:
                value = getattr(exc, name, None)
            except RuntimeError:  # httpx raises when an exception has no request
                value = None
            parts.append(repr(value))
            if isinstance(value, httpx2.Request):
                parts.append(repr(list(value.headers.raw)))
            if isinstance(value, httpx2.Response):
                parts.append(repr(list(value.request.headers.raw)))
                parts.append(value.text)
        for linked in (exc.__cause__, exc.__context__):
            if linked is not None:
                stack.append(linked)
    return "\n".join(parts)


# -- a body that cannot be decoded at the HTTP layer ----------------------------------------


async def test_a_corrupt_gzip_body_is_a_connection_error_that_is_retried(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(Fault.corrupt_gzip(), Fault.corrupt_gzip(status=500))
    page = await client.assets.list(page_size=2)
    assert len(page.history) == 2
    assert api_calls(fake) == 3


async def test_a_corrupt_gzip_body_past_the_retries_names_account_and_page(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    fake.add_faults(*[Fault.corrupt_gzip()] * 3)
    with pytest.raises(APIConnectionError, match="decod") as info:
        await client.assets.list(page_num=2)
    assert info.value.email == fake.emails[0]
    assert info.value.page_num == 2


# -- a caller's http_client lends the SDK its pool, and nothing else -------------------------


async def test_a_callers_http_client_settings_never_reach_sdk_requests(
    fake: FakeKlingServer,
) -> None:
    async with (
        httpx2.AsyncClient(
            auth=("someone", "else"),
            headers={"X-App": "mine", "Authorization": "Bearer not-the-token"},
            cookies={"session": "abc"},
            params={"contentType": "image"},
        ) as http,
        KlingClient(
            token=fake.token, email=fake.emails[0], base_url=fake.base_url, http_client=http
        ) as client,
    ):
        page = await client.assets.list(page_size=3)
        await client.uploads.delete([fake.data.accounts[0].uploads[0].id])
    assert len(page.history) == 3
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {fake.token}"
        assert "x-app" not in request.headers
        assert "cookie" not in request.headers
        assert "contentType" not in request.query


# -- out-of-range timestamps and IDs ----------------------------------------------------------


@pytest.mark.parametrize("millis", [10**17, -(10**15), 253402300800000])
def test_an_out_of_range_timestamp_reads_as_none_not_an_overflow(millis: int) -> None:
    work = Work(work_id=1, task_id=2, create_time=millis)
    assert work.create_time == millis
    assert work.created_at is None


async def test_an_id_beyond_64_bits_is_decoded_exactly(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    big = 18446744073709551617
    fake.add_faults(
        Fault.body(
            {"history": [{"task": {"id": big}, "works": [{"workId": big, "taskId": big + 2}]}]}
        )
    )
    page = await client.assets.list()
    assert page.works[0].work_id == big
    assert page.works[0].task_id == big + 2
    assert page.history[0].task is not None
    assert page.history[0].task.id == big


# -- the token and URL credentials never show ---------------------------------------------------


async def test_an_error_body_echoing_the_token_is_redacted_everywhere(
    client: KlingClient, fake: FakeKlingServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kling_async")
    echo = {"error": f"bad token {fake.token} for Bearer {fake.token}", "token": fake.token}
    fake.add_faults(*[Fault.status(500, body=echo)] * 3)
    with pytest.raises(ServerError) as info:
        await client.assets.list(page_num=2)
    secret = fake.token.split(":", 1)[1]
    assert secret not in everything_reachable(info.value)
    assert secret not in caplog.text
    assert "bad token" in info.value.message


@pytest.mark.parametrize("fault", [Fault.drop(), Fault.hang(), Fault.status(401)])
async def test_no_request_reachable_from_an_error_carries_the_token(
    fake: FakeKlingServer, fault: Fault
) -> None:
    fake.add_faults(fault)
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url, max_retries=0, timeout=0.2
    ) as client:
        with pytest.raises(APIError) as info:
            await client.assets.list()
    assert fake.token.split(":", 1)[1] not in everything_reachable(info.value)


async def test_batch_failures_carry_no_token(client: KlingClient, fake: FakeKlingServer) -> None:
    fake.add_faults(*[Fault.status(401)] * 2)
    result = await batch.download(client, [1, 2, 3], chunk_size=2)
    errors = [chunk.error for chunk in result.chunks if chunk.error is not None]
    assert len(errors) == 2
    for error in errors:
        assert isinstance(error, AuthenticationError)
        assert fake.token.split(":", 1)[1] not in everything_reachable(error)


def test_a_base_url_with_credentials_is_rejected_without_showing_them() -> None:
    with pytest.raises(InvalidInputError) as info:
        KlingClient(token="user:1-abc", base_url="https://me:hunter2@api.example.com/v1/kling")
    assert "hunter2" not in str(info.value)
    assert "credentials" in str(info.value)


# -- bad arguments are InvalidInputError, before any request -----------------------------------


HUGE = "9" * 5000
HUGE_INT = 10**5000


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.uploads.delete([HUGE]),
        lambda c: c.uploads.delete([HUGE_INT]),
        lambda c: c.assets.download([HUGE]),
        lambda c: c.assets.list(page_num=HUGE_INT),
        lambda c: c.assets.list(page_size=HUGE_INT),
        lambda c: c.uploads.list(page_num=10**30),
        lambda c: c.assets.list(email="me\x7f@example.com"),
        lambda c: c.assets.list(timeout=math.nan),
        lambda c: c.assets.list(timeout=-math.inf),
        lambda c: c.assets.list(timeout=httpx2.Timeout(math.nan)),
    ],
)
async def test_bad_values_are_invalid_input_before_any_request(
    client: KlingClient, fake: FakeKlingServer, call: object
) -> None:
    with pytest.raises(InvalidInputError):
        await call(client)  # type: ignore[operator]
    assert api_calls(fake) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retry": "x"},
        {"http_client": "x"},
        {"limits": 10},
        {"timeout": math.nan},
        {"timeout": "5"},
        {"max_retries": 1.5},
        {"email": "a\x7f@example.com"},
        {"base_url": "ftp://example.com"},
    ],
)
def test_bad_client_settings_are_invalid_input(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        KlingClient(token="user:1-abc", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": 1.5},
        {"max_retries": -1},
        {"max_retries": "2"},
        {"max_retries": True},
        {"backoff_initial": math.nan},
        {"backoff_max": math.inf},
        {"rate_limit_wait": "10"},
        {"max_retry_after": -1},
        {"jitter": 2},
        {"retry_statuses": [429]},
        {"retry_statuses": frozenset({"429"})},
        {"retry_statuses": frozenset({99})},
    ],
)
def test_retry_policy_rejects_bad_values_as_invalid_input(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_repr_of_a_half_built_client_does_not_raise() -> None:
    client = KlingClient.__new__(KlingClient)
    assert "KlingClient" in repr(client)


def test_the_client_repr_never_shows_the_token() -> None:
    client = KlingClient(token="user:123-secretvalue", email="a@example.com")
    assert "secretvalue" not in repr(client)


async def test_a_call_on_a_closed_client_is_a_kling_error_that_says_so(
    fake: FakeKlingServer,
) -> None:
    client = KlingClient(token=fake.token, email=fake.emails[0], base_url=fake.base_url)
    patient = client.with_options(timeout=30)
    await client.aclose()
    for closed in (client, patient):
        with pytest.raises(ClientClosedError, match="closed"):
            await closed.assets.list()
    assert api_calls(fake) == 0


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "502 Bad"),
        ("<html><body><h1>Oops</h1></body></html>", "Bad Gateway"),
    ],
)
async def test_an_html_error_page_gives_its_title_or_the_reason_never_markup(
    client: KlingClient, fake: FakeKlingServer, page: str, message: str
) -> None:
    fake.add_faults(*[Fault.status(502, body=page, content_type="text/html")] * 3)
    with pytest.raises(ServerError) as info:
        await client.assets.list()
    assert info.value.message.startswith(message)
    assert "<" not in info.value.message
    assert api_calls(fake) == 3
