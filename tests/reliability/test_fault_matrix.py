"""Every endpoint x every fault: the documented error class after the documented attempts.

Each case points a client (2 retries, millisecond backoff) at the fake server, injects one
fault into one endpoint, either on every attempt ("persistent") or on the first only
("once"), and checks the outcome the README and `RetryPolicy` document:

- retried (3 attempts when the fault persists, then the error; 2 attempts and the normal
  result when it happens once): 408, 429 (with and without Retry-After), 500, 502, 503, 504,
  an HTML error page, connection errors (a truncated body, a corrupt gzip body, a dropped or
  refused connection) as `APIConnectionError`, and a hang past the timeout as
  `APITimeoutError`;
- never retried (1 attempt, even when the next one would succeed): 400, 401, 402, 404 (with a
  JSON body or an empty one), 596, and a 200 that is malformed JSON or has a wrong type deep
  inside (`ResponseValidationError`, whose ``path`` names the field).

Every final error is a `KlingError` that names the account (``email``) and, for the two
listings, the page (``page_num``). Attempts are counted from the fake server's request log
(the API requests to the endpoint's path), except for a refused connection, which no server
sees: those are counted from the client's own retry log lines.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from kling_async import (
    AccountError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AssetsPage,
    AuthenticationError,
    BadRequestError,
    DeleteResult,
    DownloadResult,
    Element,
    KlingClient,
    KlingError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    UploadsPage,
)
from kling_async.testing import FakeKlingServer, Fault

AREA = "fault matrix"

pytestmark = pytest.mark.anyio

RETRY = RetryPolicy(
    max_retries=2, backoff_initial=0.001, backoff_max=0.01, rate_limit_wait=0.01, jitter=0
)
ATTEMPTS = RETRY.max_retries + 1
HANG_TIMEOUT = 0.2
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


# -- the endpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One public call, the request it sends, and a 200 body with a wrong type deep inside."""

    name: str
    method: str
    path: str
    """The API path (a prefix for /elements/{id}); faults are limited to it."""
    call: Callable[[KlingClient, FakeKlingServer], Awaitable[object]]
    result: type
    listing: bool
    wrong_body: dict[str, Any]
    wrong_path: str

    def attempts(self, fake: FakeKlingServer) -> int:
        """The API requests this endpoint's call sent, from the fake server's log."""
        return sum(
            1
            for request in fake.requests
            if request.method == self.method
            and request.api_path is not None
            and (request.api_path == self.path or request.api_path.startswith(self.path + "/"))
        )


def _first_work(fake: FakeKlingServer) -> tuple[int, str]:
    task = fake.data.accounts[0].tasks[0]
    return task.first_work_id, task.file_types[0]


def _download(client: KlingClient, fake: FakeKlingServer) -> Awaitable[object]:
    work_id, file_type = _first_work(fake)
    return client.assets.download([work_id], file_types=[file_type])


ENDPOINTS = [
    Endpoint(
        "assets.list",
        "GET",
        "/assets",
        lambda client, fake: client.assets.list(page_num=2),
        AssetsPage,
        listing=True,
        wrong_body={"history": [{"works": [{"workId": "3200001"}]}]},
        wrong_path="$.history[0].works[0].workId",
    ),
    Endpoint(
        "uploads.list",
        "GET",
        "/assets/uploaded",
        lambda client, fake: client.uploads.list(page_num=2),
        UploadsPage,
        listing=True,
        wrong_body={"uploadAssetsList": [{"id": "1", "resource": {"width": "1080"}}]},
        wrong_path="$.uploadAssetsList[0].resource.width",
    ),
    Endpoint(
        "assets.download",
        "GET",
        "/assets/download",
        _download,
        DownloadResult,
        listing=False,
        wrong_body={"cdnUrl": ["https://cdn.example.com/1.mp4"], "status": "success"},
        wrong_path="$.cdnUrl",
    ),
    Endpoint(
        "uploads.delete",
        "DELETE",
        "/assets/uploaded",
        lambda client, fake: client.uploads.delete([fake.data.accounts[0].uploads[0].id]),
        DeleteResult,
        listing=False,
        wrong_body={"deleted": 1, "ids": [1234567890123]},
        wrong_path="$.ids[0]",
    ),
    Endpoint(
        "elements.get",
        "GET",
        "/elements",
        lambda client, fake: client.elements.get(fake.data.accounts[0].elements[0].id),
        Element,
        listing=False,
        wrong_body={"id": "u_1", "resources": [{"voice": {"id": 7, "official": "yes"}}]},
        wrong_path="$.resources[0].voice.official",
    ),
]


# -- the faults -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One fault and what the documentation says it ends in."""

    name: str
    fault: Callable[[Endpoint], Fault] | None
    """The fault to inject; None for a refused connection, which needs no server."""
    error: type[APIError]
    retried: bool
    status: int | None = None
    body: object = None
    message: str | None = None
    """The error's exact ``message``, when the case fixes it."""


def _status(code: int, cls: type[APIStatusError]) -> list[Kind]:
    """A status with the service's JSON error body, and with an empty body."""
    body = {"error": f"rejected with {code}", "code": code}
    reason = httpx2.codes.get_reason_phrase(code)
    return [
        Kind(
            f"{code}-json-body",
            lambda e: Fault.status(code, body=body),
            cls,
            retried=False,
            status=code,
            body=body,
            message=f"rejected with {code}",
        ),
        Kind(
            f"{code}-empty-body",
            lambda e: Fault.status(code, body=b""),
            cls,
            retried=False,
            status=code,
            body=None,
            message=reason,
        ),
    ]


def _server(code: int) -> Kind:
    return Kind(str(code), lambda e: Fault.status(code), ServerError, retried=True, status=code)


KINDS = [
    Kind(
        "429-retry-after-0",
        lambda e: Fault.status(429, retry_after=0),
        RateLimitError,
        retried=True,
        status=429,
    ),
    Kind("429-no-retry-after", lambda e: Fault.status(429), RateLimitError, True, status=429),
    Kind("408", lambda e: Fault.status(408), APIStatusError, retried=True, status=408),
    *(_server(code) for code in (500, 502, 503, 504)),
    Kind(
        "502-html-page",
        lambda e: Fault.status(502, body=HTML_PAGE, content_type="text/html; charset=utf-8"),
        ServerError,
        retried=True,
        status=502,
        message="502 Bad Gateway",
    ),
    Kind("596", lambda e: Fault.status(596), AccountError, retried=False, status=596),
    *_status(400, BadRequestError),
    *_status(401, AuthenticationError),
    *_status(402, PaymentRequiredError),
    *_status(404, NotFoundError),
    Kind("malformed-json", lambda e: Fault.malformed_json(), ResponseValidationError, False),
    Kind("wrong-type-deep", lambda e: Fault.body(e.wrong_body), ResponseValidationError, False),
    Kind("truncated-body", lambda e: Fault.truncated(), APIConnectionError, retried=True),
    Kind("corrupt-gzip", lambda e: Fault.corrupt_gzip(), APIConnectionError, retried=True),
    Kind("dropped-connection", lambda e: Fault.drop(), APIConnectionError, retried=True),
    Kind("hang-past-timeout", lambda e: Fault.hang(), APITimeoutError, retried=True),
    Kind("refused-connection", None, APIConnectionError, retried=True),
]


def _cases() -> Iterator[Any]:
    for endpoint in ENDPOINTS:
        for kind in KINDS:
            for persistence in ("persistent", "once"):
                if kind.fault is None and persistence == "once":
                    continue  # nothing listens: a refused connection cannot heal
                yield pytest.param(
                    endpoint, kind, persistence, id=f"{endpoint.name}-{kind.name}-{persistence}"
                )


CASES = list(_cases())


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeKlingServer]:
    async with FakeKlingServer(
        accounts=2, works_per_account=12, uploads_per_account=6, elements_per_account=2, seed=11
    ) as server:
        yield server


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound, so nobody else takes it, but never listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _retry_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "kling_async"
        and record.levelno == logging.INFO
        and record.msg.startswith("retrying")
    ]


def _attempt_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "kling_async"
        and record.levelno == logging.DEBUG
        and "(attempt %d/%d" in record.msg
    ]


# -- the matrix -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("endpoint", "kind", "persistence"), CASES)
async def test_fault(
    fake: FakeKlingServer,
    closed_port: int,
    caplog: pytest.LogCaptureFixture,
    endpoint: Endpoint,
    kind: Kind,
    persistence: str,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kling_async")
    account = fake.emails[0]
    refused = kind.fault is None
    base_url = f"http://127.0.0.1:{closed_port}/v1/kling" if refused else fake.base_url
    async with KlingClient(
        token=fake.token, email=account, base_url=base_url, retry=RETRY
    ) as kling:
        client = (
            kling.with_options(timeout=HANG_TIMEOUT) if kind.error is APITimeoutError else kling
        )
        if kind.fault is not None:
            copies = ATTEMPTS if persistence == "persistent" else 1
            fake.add_faults(
                *[kind.fault(endpoint)] * copies, path=endpoint.path, method=endpoint.method
            )

        if persistence == "once" and kind.retried:
            result = await endpoint.call(client, fake)
            assert isinstance(result, endpoint.result)
            assert endpoint.attempts(fake) == 2
            assert fake.pending_faults == ()
            assert len(_retry_lines(caplog)) == 1
            return

        with pytest.raises(KlingError) as info:
            await endpoint.call(client, fake)

    error = info.value
    assert type(error) is kind.error, f"{type(error).__name__}: {error}"
    assert isinstance(error, APIError)
    expected = ATTEMPTS if kind.retried else 1

    # The attempts: from the server's log, or (refused) from the client's own log lines.
    if refused:
        assert fake.requests == []
        assert "ConnectError" in str(error)
        assert len(_retry_lines(caplog)) == RETRY.max_retries
        outcomes = [record.args[1] for record in _attempt_lines(caplog)]  # type: ignore[index]
        assert outcomes == ["ConnectError"] * ATTEMPTS
    else:
        assert endpoint.attempts(fake) == expected
        assert len(_retry_lines(caplog)) == expected - 1
        if persistence == "once":
            assert fake.pending_faults == ()

    # Which call failed: the account, and for the listings the page.
    assert error.email == account
    assert error.page_num == (2 if endpoint.listing else None)
    request = error.request
    if request is not None:
        assert request.method == endpoint.method
        assert request.url.path.startswith(f"/v1/kling{endpoint.path}")
    if not isinstance(error, ResponseValidationError):
        assert f"/v1/kling{endpoint.path}" in str(error)

    # What the class promises.
    if isinstance(error, APIStatusError):
        assert error.status_code == kind.status
        assert error.response.status_code == kind.status
        assert error.message
        assert "<" not in error.message
        assert ">" not in error.message
        if kind.message is not None:
            assert error.message == kind.message
        if kind.body is not None or kind.name.endswith("empty-body"):
            assert error.body == kind.body
    else:
        assert kind.status is None
    if isinstance(error, RateLimitError):
        assert error.retry_after == (0.0 if kind.name == "429-retry-after-0" else None)
    if isinstance(error, ResponseValidationError):
        expected_path = endpoint.wrong_path if kind.name == "wrong-type-deep" else "$"
        assert error.path == expected_path
        assert error.response is not None
        assert error.response.status_code == 200
        if kind.name == "wrong-type-deep":
            assert expected_path in str(error)
    if kind.error is APIConnectionError:
        assert not isinstance(error, APITimeoutError)
