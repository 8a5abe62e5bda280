"""The API token never shows: every error path, searched on every surface it could leak to.

Each case drives one error path with DEBUG logging on (the ``kling_async`` logger and the root
logger, so httpx and httpcore log too), then searches for the token's secret part in:

- every captured log line (the formatted text, each record's message, ``args`` and traceback);
- ``str`` and ``repr`` of the error;
- the error's traceback rendered with the locals of every frame, by the standard library
  (``traceback.TracebackException(..., capture_locals=True)``) and by rich
  (``show_locals=True``), both from the frame below the test's own (the test's locals are the
  test's, not the SDK's to hide);
- every request and response reachable from the error, its ``__cause__``/``__context__``
  chain, a `BatchError`'s errors and an exception group's members (URL, ``headers.raw``, body
  text), and the attributes of every exception in that chain;
- batch results (each chunk's error, each `PageFailure`, their reprs);
- stdout and stderr of the command line, run in-process;
- ``repr`` of clients.

Error bodies that echo the token (JSON, plain text, an HTML title, a 200 that does not fit the
model, a malformed 200) are among the paths, on a token shaped like useapi.net's and on an
opaque one (which no pattern can recognise, only the client that knows it).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import httpx2
import pytest
from rich.console import Console
from rich.traceback import Traceback

from kling_async import (
    AuthenticationError,
    InvalidInputError,
    KlingClient,
    KlingError,
    OperationFailedError,
    RetryPolicy,
    batch,
    cli,
)
from kling_async.testing import FakeKlingServer, Fault

AREA = "secret scan"

RETRY = RetryPolicy(
    max_retries=2, backoff_initial=0.001, backoff_max=0.01, rate_limit_wait=0.01, jitter=0
)
ATTEMPTS = RETRY.max_retries + 1
HANG_TIMEOUT = 0.2
USEAPI_TOKEN = "user:48213-Kq8Zr2Vw9Lm4Tn6Xp1Yc"
"""A token shaped like useapi.net's, for cases without a fake server."""
OPAQUE_TOKEN = "kl_live_Q7xZ1mN8pR3sT6vW2yB5"
"""A token not shaped like useapi.net's: only the literal value can be redacted."""
TOKENS = [pytest.param(None, id="useapi-token"), pytest.param(OPAQUE_TOKEN, id="opaque-token")]


def secret_of(token: str) -> str:
    """The part of a token that must never show (``user:`` is the same for everyone)."""
    return token.split(":", 1)[1] if token.startswith("user:") else token


# -- the scanner ----------------------------------------------------------------------------------


class Scan:
    """Texts from every surface, searched for one secret; `check` names each leak."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.surfaces: list[tuple[str, str]] = []

    def add(self, surface: str, text: str) -> None:
        self.surfaces.append((surface, text))

    def error(self, error: BaseException, label: str = "error") -> None:
        """Every surface of one error (raised through `failure`, or taken from a result)."""
        self.add(f"{label}: str", str(error))
        self.add(f"{label}: repr", repr(error))
        below = _below_test(error)
        rendered = traceback.TracebackException(type(error), error, below, capture_locals=True)
        self.add(f"{label}: traceback with locals", "".join(rendered.format()))
        self.add(f"{label}: rich traceback with locals", _rich_traceback(error, below))
        chain = list(_chain(error))
        self.add(f"{label}: requests and responses", _reachable_http(chain))
        self.add(f"{label}: attributes of chained errors", _attributes(chain))

    def logs(self, caplog: pytest.LogCaptureFixture, *, skip: tuple[str, ...] = ()) -> None:
        """Every captured log record, except those of loggers named in ``skip`` (prefixes)."""
        if not skip:
            self.add("log text", caplog.text)
        for record in caplog.records:
            if record.name.startswith(skip):
                continue
            where = f"log record {record.name}:{record.lineno}"
            self.add(f"{where} line", caplog.handler.format(record))
            self.add(f"{where} message", record.getMessage())
            self.add(f"{where} args", repr(record.args))
            if record.exc_info:
                self.add(
                    f"{where} traceback", "".join(traceback.format_exception(*record.exc_info))
                )
            if record.exc_text:
                self.add(f"{where} traceback", record.exc_text)

    def check(self) -> None:
        assert self.surfaces, "nothing was scanned"
        leaks = []
        for surface, text in self.surfaces:
            flat = re.sub(r"\s+", "", text)  # a token folded over two lines is still shown
            if self.secret in text or self.secret in flat:
                leaks.append(f"{surface}: ...{_context(text, self.secret)}...")
        assert not leaks, "the token's secret part shows in:\n" + "\n".join(leaks)


def _context(text: str, secret: str) -> str:
    at = text.find(secret)
    if at < 0:
        return "(split over lines)"
    return text[max(0, at - 160) : at + len(secret) + 40].replace(secret, "<SECRET>")


def _below_test(error: BaseException) -> Any:
    """The traceback from the frame below the test's own (see `failure`)."""
    tb = error.__traceback__
    return tb.tb_next if tb is not None else None


def _rich_traceback(error: BaseException, tb: Any) -> str:
    console = Console(file=io.StringIO(), width=2000, color_system=None, force_terminal=False)
    console.print(
        Traceback.from_exception(
            type(error),
            error,
            tb,
            width=2000,
            show_locals=True,
            locals_max_length=1000,
            locals_max_string=100_000,
            locals_hide_dunder=False,
        )
    )
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, its causes and contexts, a BatchError's errors, a group's members."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        exc = stack.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        linked = [exc.__cause__, exc.__context__]
        linked += list(getattr(exc, "errors", None) or ())
        linked += list(getattr(exc, "exceptions", None) or ())
        stack.extend(e for e in linked if isinstance(e, BaseException))


def _reachable_http(chain: list[BaseException]) -> str:
    parts: list[str] = []
    for exc in chain:
        for name in ("request", "response"):
            try:
                value = getattr(exc, name, None)
            except RuntimeError:  # an httpx error with no request attached
                value = None
            _describe_http(value, parts)
    return "\n".join(parts)


def _describe_http(value: object, parts: list[str]) -> None:
    if isinstance(value, httpx2.Request):
        parts += [value.method, str(value.url), repr(value.headers.raw), repr(value.headers)]
        with contextlib.suppress(httpx2.RequestNotRead):
            parts.append(value.content.decode("utf-8", "replace"))
    elif isinstance(value, httpx2.Response):
        parts += [str(value.status_code), repr(value.headers.raw), repr(value.headers)]
        with contextlib.suppress(httpx2.ResponseNotRead):
            parts.append(value.text)
        try:
            request = value.request
        except RuntimeError:
            request = None
        _describe_http(request, parts)
        for earlier in value.history:
            _describe_http(earlier, parts)


def _attributes(chain: list[BaseException]) -> str:
    parts = []
    for exc in chain:
        parts.append(repr(exc.args))
        try:
            attributes = vars(exc)
        except TypeError:
            continue
        for name, value in attributes.items():
            parts.append(f"{name}={value!r}")
            if isinstance(value, bytes):
                parts.append(value.decode("utf-8", "replace"))
    return "\n".join(parts)


async def failure(call: Awaitable[object]) -> BaseException:
    """The error ``call`` raised (its traceback starts at this frame, the test's helper)."""
    try:
        await call
    except Exception as error:
        return error
    raise AssertionError("the call succeeded; this case needs it to fail")


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def token(request: pytest.FixtureRequest) -> str | None:
    """The token style of a case: None for the fake's own (useapi-shaped) token."""
    return getattr(request, "param", None)


@pytest.fixture
async def fake(token: str | None) -> AsyncIterator[FakeKlingServer]:
    async with FakeKlingServer(
        accounts=2,
        works_per_account=12,
        uploads_per_account=6,
        elements_per_account=2,
        seed=13,
        token=token,
    ) as server:
        yield server


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="kling_async")
    return caplog


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound, so nobody else takes it, but never listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def make_client(fake: FakeKlingServer, **options: Any) -> KlingClient:
    options.setdefault("base_url", fake.base_url)
    return KlingClient(token=fake.token, email=fake.emails[0], retry=RETRY, **options)


# -- every fault, on two endpoints ----------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One endpoint call and the path its faults are limited to."""

    name: str
    method: str
    path: str
    call: Callable[[KlingClient, FakeKlingServer], Awaitable[object]]
    wrong_body: dict[str, Any]


ENDPOINTS = [
    Call(
        "assets.list",
        "GET",
        "/assets",
        lambda client, fake: client.assets.list(page_num=2),
        {"history": [{"works": [{"workId": "3200001"}]}]},
    ),
    Call(
        "uploads.delete",
        "DELETE",
        "/assets/uploaded",
        lambda client, fake: client.uploads.delete([fake.data.accounts[0].uploads[0].id]),
        {"deleted": 1, "ids": [1234567890123]},
    ),
    Call(
        "uploads.create",
        "POST",
        "/assets",
        lambda client, fake: client.uploads.create(b"\x89PNG" * 256, content_type="image/png"),
        {"status": "3", "url": 1},
    ),
]

HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

FAULTS: list[tuple[str, Callable[[Call], Fault | None]]] = [
    ("429-retry-after-0", lambda e: Fault.status(429, retry_after=0)),
    ("429", lambda e: Fault.status(429)),
    ("500", lambda e: Fault.status(500)),
    ("502", lambda e: Fault.status(502)),
    ("503", lambda e: Fault.status(503)),
    ("504", lambda e: Fault.status(504)),
    ("596", lambda e: Fault.status(596)),
    ("400-json", lambda e: Fault.status(400)),
    ("400-empty", lambda e: Fault.status(400, body=b"")),
    ("401-json", lambda e: Fault.status(401)),
    ("401-empty", lambda e: Fault.status(401, body=b"")),
    ("402", lambda e: Fault.status(402)),
    ("404", lambda e: Fault.status(404)),
    ("502-html", lambda e: Fault.status(502, body=HTML_PAGE, content_type="text/html")),
    ("malformed-json", lambda e: Fault.malformed_json()),
    ("wrong-type", lambda e: Fault.body(e.wrong_body)),
    ("truncated", lambda e: Fault.truncated()),
    ("corrupt-gzip", lambda e: Fault.corrupt_gzip()),
    ("dropped", lambda e: Fault.drop()),
    ("hang", lambda e: Fault.hang()),
    ("refused", lambda e: None),
]


@pytest.mark.anyio
@pytest.mark.parametrize("fault", [pytest.param(f, id=name) for name, f in FAULTS])
@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.name) for e in ENDPOINTS])
async def test_fault_path_shows_no_token(
    fake: FakeKlingServer,
    debug_logs: pytest.LogCaptureFixture,
    closed_port: int,
    endpoint: Call,
    fault: Callable[[Call], Fault | None],
) -> None:
    injected = fault(endpoint)
    options: dict[str, Any] = {}
    if injected is None:
        options["base_url"] = f"http://127.0.0.1:{closed_port}/v1/kling"
    else:
        fake.add_faults(*[injected] * ATTEMPTS, path=endpoint.path, method=endpoint.method)
        if injected.kind == "hang":
            options["timeout"] = HANG_TIMEOUT
    scan = Scan(secret_of(fake.token))
    async with make_client(fake, **options) as client:
        error = await failure(endpoint.call(client, fake))
        scan.add("client repr", repr(client))
    assert isinstance(error, KlingError)
    scan.error(error)
    scan.logs(debug_logs)
    scan.check()


# -- error bodies that echo the token -------------------------------------------------------------


@dataclass(frozen=True)
class Echo:
    """Faults on GET /assets whose answers echo the token."""

    name: str
    faults: list[Fault]
    fails: bool
    """Whether the call ends in an error (else it succeeds after a retry)."""
    third_party_logs: bool = True
    """Whether httpx's and httpcore's own log records are scanned too. Not for a token echoed
    in a response header: httpcore's DEBUG trace logs every response header verbatim, which no
    SDK code can change; the SDK's own logger and everything the error carries still are."""


def _echoes(token: str) -> list[Echo]:
    json_echo = {
        "error": f"bad token {token}",
        "detail": {"authorization": f"Bearer {token}", "seen": [token]},
    }
    text_echo = f"invalid Authorization header: Bearer {token}\n(token {token} is revoked)"
    html_echo = (
        f"<html><head><title>Denied for {token}</title></head>"
        f"<body><pre>Authorization: Bearer {token}</pre></body></html>"
    )
    return [
        Echo("500-json-echo", [Fault.status(500, body=json_echo)] * ATTEMPTS, True),
        Echo("401-json-echo", [Fault.status(401, body=json_echo)], True),
        Echo("400-json-echo", [Fault.status(400, body=json_echo)], True),
        Echo("404-json-echo", [Fault.status(404, body={"error": f"no account for {token}"})], True),
        Echo("596-json-echo", [Fault.status(596, body={"error": token, "code": 596})], True),
        Echo("403-text-echo", [Fault.status(403, body=text_echo)], True),
        Echo("503-text-echo", [Fault.status(503, body=text_echo)] * ATTEMPTS, True),
        Echo(
            "502-html-echo",
            [Fault.status(502, body=html_echo, content_type="text/html")] * ATTEMPTS,
            True,
        ),
        Echo(
            "429-retry-after-echo-persistent",
            [Fault.status(429, retry_after=0, body=json_echo)] * ATTEMPTS,
            True,
        ),
        Echo(
            "429-retry-after-echo-then-success",
            [Fault.status(429, retry_after=0, body=json_echo)],
            False,
        ),
        Echo("500-text-echo-then-success", [Fault.status(500, body=text_echo)], False),
        Echo(
            "500-header-echo",
            [Fault.status(500, body=json_echo, content_type=f"application/json; by={token}")]
            * ATTEMPTS,
            True,
            third_party_logs=False,
        ),
        Echo(
            "429-retry-after-header-echo",
            [Fault.status(429, retry_after=f"{token}", body=json_echo)] * ATTEMPTS,
            True,
            third_party_logs=False,
        ),
        Echo(
            "200-wrong-type-echo",
            [Fault.body({"history": [{"works": [{"workId": token}]}], "note": token})],
            True,
        ),
        Echo("200-not-an-object-echo", [Fault.body([token, f"Bearer {token}"])], True),
        Echo(
            "200-malformed-echo",
            [
                Fault.body(
                    f'{{"error": "bad token {token}", "history": [', content_type="application/json"
                )
            ],
            True,
        ),
        Echo(
            "200-text-echo",
            [Fault.body(f"token {token} accepted", content_type="text/plain")],
            True,
        ),
    ]


ECHO_NAMES = [echo.name for echo in _echoes("user:1-x")]


@pytest.mark.anyio
@pytest.mark.parametrize("echo", ECHO_NAMES)
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_an_error_body_echoing_the_token_shows_it_nowhere(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture, echo: str
) -> None:
    (case,) = [case for case in _echoes(fake.token) if case.name == echo]
    fake.add_faults(*case.faults, path="/assets", method="GET")
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        if case.fails:
            error = await failure(client.assets.list(page_num=2))
            assert isinstance(error, KlingError)
            scan.error(error)
        else:
            page = await client.assets.list(page_num=2)
            scan.add("page repr", repr(page))
        scan.add("client repr", repr(client))
    scan.logs(debug_logs, skip=() if case.third_party_logs else ("httpcore", "httpx"))
    scan.check()


# -- uploads --------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_an_upload_reported_failed_echoing_the_token_shows_it_nowhere(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    echo = {"status": 0, "message": f"rejected for Bearer {fake.token}", "url": fake.token}
    fake.add_faults(Fault.body(echo), path="/assets", method="POST")
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        error = await failure(client.uploads.create(b"x" * 100, content_type="image/png"))
    assert isinstance(error, OperationFailedError)
    scan.error(error)
    scan.logs(debug_logs)
    scan.check()


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_a_failing_upload_stream_shows_no_token(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"x" * 100_000
        raise OSError("the disk went away")

    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        error = await failure(
            client.uploads.create(stream(), size=200_000, content_type="video/mp4")
        )
        oversize = await failure(
            client.uploads.create(stream(), size=10**9, content_type="video/mp4")
        )
    assert isinstance(error, OSError)
    assert isinstance(oversize, InvalidInputError)
    scan.error(error)
    scan.error(oversize, "oversize")
    scan.logs(debug_logs)
    scan.check()


# -- batch helpers --------------------------------------------------------------------------------


def _echo_body(token: str) -> dict[str, str]:
    return {"error": f"refused for Bearer {token}"}


async def _drain(pages: batch.ConcurrentPages[Any]) -> list[Any]:
    got = []
    async with pages:
        async for page in pages:
            got.append(page)
    return got


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_batch_download_failures_show_no_token(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    work_ids = [w for task in fake.data.accounts[0].tasks for w in task.work_ids][:6]
    fake.add_faults(
        Fault.status(401, body=_echo_body(fake.token)),
        *[Fault.status(500, body=_echo_body(fake.token))] * ATTEMPTS,
        path="/assets/download",
    )
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        result = await batch.download(client, work_ids, chunk_size=2, concurrency=1)
        batch_error = await failure(_raise_for_errors(result))
    assert len(result.errors) == 2
    scan.add("batch result repr", repr(result))
    for index, chunk_error in enumerate(result.errors):
        scan.error(chunk_error, f"chunk error {index}")
    scan.error(batch_error, "BatchError")
    scan.logs(debug_logs)
    scan.check()


async def _raise_for_errors(result: batch.BatchResult[Any, Any]) -> None:
    result.raise_for_errors()


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_batch_delete_failures_show_no_token(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    ids = [upload.id for upload in fake.data.accounts[0].uploads]
    fake.add_faults(
        Fault.status(400, body=_echo_body(fake.token)),
        Fault.drop(),
        Fault.drop(),
        Fault.drop(),
        path="/assets/uploaded",
        method="DELETE",
    )
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        result = await batch.delete_uploaded(client, ids, chunk_size=2, concurrency=1)
        batch_error = await failure(_raise_for_errors(result))
    assert len(result.errors) == 2
    scan.add("batch result repr", repr(result))
    for index, chunk_error in enumerate(result.errors):
        scan.error(chunk_error, f"chunk error {index}")
    scan.error(batch_error, "BatchError")
    scan.logs(debug_logs)
    scan.check()


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_batch_iter_pages_raising_shows_no_token(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    fake.add_faults(
        *[Fault.status(503, body=_echo_body(fake.token))] * ATTEMPTS, path="/assets", method="GET"
    )
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        error = await failure(
            _drain(batch.iter_pages(client, fake.emails, page_size=4, concurrency=1))
        )
    assert isinstance(error, KlingError)
    scan.error(error)
    scan.logs(debug_logs)
    scan.check()


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_batch_iter_pages_continuing_shows_no_token(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture
) -> None:
    fake.add_faults(Fault.status(401, body=_echo_body(fake.token)), path="/assets", method="GET")
    fake.add_faults(Fault.drop(), Fault.drop(), Fault.drop(), path="/assets/uploaded")
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        assets = batch.iter_pages(
            client, fake.emails, page_size=4, concurrency=1, on_error="continue"
        )
        await _drain(assets)
        uploads = batch.iter_upload_pages(
            client, fake.emails, page_size=4, concurrency=1, on_error="continue"
        )
        await _drain(uploads)
    failures = [*assets.failures, *uploads.failures]
    assert len(failures) == 2
    for index, page_failure in enumerate(failures):
        scan.add(f"PageFailure {index} repr", repr(page_failure))
        scan.error(page_failure.error, f"PageFailure {index} error")
    scan.logs(debug_logs)
    scan.check()


# -- clients --------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("token", TOKENS, indirect=True)
async def test_client_reprs_show_no_token(fake: FakeKlingServer) -> None:
    scan = Scan(secret_of(fake.token))
    async with make_client(fake) as client:
        scan.add("client repr", repr(client))
        scan.add("client str", str(client))
        scan.add("with_options(email) repr", repr(client.with_options(email=fake.emails[1])))
        scan.add("with_options(timeout) repr", repr(client.with_options(timeout=5)))
        scan.add("with_options(retry) repr", repr(client.with_options(max_retries=0)))
        scan.add("retry policy repr", repr(client.retry))
        scan.add("resources repr", repr([client.assets, client.uploads, client.elements]))
    scan.check()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "wrong",
    [pytest.param(USEAPI_TOKEN, id="useapi-token"), pytest.param(OPAQUE_TOKEN, id="opaque-token")],
)
async def test_a_rejected_token_shows_nowhere(
    fake: FakeKlingServer, debug_logs: pytest.LogCaptureFixture, wrong: str
) -> None:
    scan = Scan(secret_of(wrong))
    async with KlingClient(
        token=wrong, email=fake.emails[0], base_url=fake.base_url, retry=RETRY
    ) as client:
        error = await failure(client.assets.list(page_num=2))
        scan.add("client repr", repr(client))
    assert isinstance(error, AuthenticationError)
    scan.error(error)
    scan.logs(debug_logs)
    scan.check()


BAD_SETTINGS = [
    pytest.param({"timeout": math.nan}, id="timeout-nan"),
    pytest.param({"limits": 10}, id="limits-not-limits"),
    pytest.param({"http_client": "x"}, id="http-client-not-a-client"),
    pytest.param({"retry": "x"}, id="retry-not-a-policy"),
    pytest.param({"max_retries": -1}, id="max-retries-negative"),
    pytest.param({"email": "me\x7f@example.com"}, id="email-control-character"),
    pytest.param({"base_url": "ftp://example.com"}, id="base-url-not-http"),
]


@pytest.mark.parametrize("settings", BAD_SETTINGS)
def test_a_client_built_with_a_bad_setting_shows_no_token(settings: dict[str, Any]) -> None:
    scan = Scan(secret_of(USEAPI_TOKEN))
    error = _construction_error(USEAPI_TOKEN, settings)
    scan.error(error)
    scan.check()


def _construction_error(token: str, settings: dict[str, Any]) -> BaseException:
    try:
        KlingClient(token=token, **settings)
    except KlingError as error:
        return error
    raise AssertionError("the client was built")


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as running:
        yield running


@pytest.fixture
def cli_fake(portal: anyio.from_thread.BlockingPortal) -> Iterator[FakeKlingServer]:
    """The fake server for command-line cases, served from a thread of its own."""
    server = FakeKlingServer(
        accounts=2, works_per_account=4, uploads_per_account=12, elements_per_account=1, seed=17
    )
    with portal.wrap_async_context_manager(server):
        yield server


@dataclass
class CliRun:
    status: int
    out: str
    err: str


@pytest.fixture
def kling(
    cli_fake: FakeKlingServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> Callable[..., CliRun]:
    """Run ``kling-async`` in-process; the token in USEAPI_TOKEN unless ``env=False``."""

    def run(*args: str, env: bool = True) -> CliRun:
        if env:
            monkeypatch.setenv("USEAPI_TOKEN", cli_fake.token)
        else:
            monkeypatch.delenv("USEAPI_TOKEN", raising=False)
        monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
        capsys.readouterr()
        status = cli.main(["--base-url", cli_fake.base_url, "--max-retries", "1", *args])
        out, err = capsys.readouterr()
        return CliRun(status, out, err)

    return run


def _scan_cli(run: CliRun, fake: FakeKlingServer, caplog: pytest.LogCaptureFixture) -> None:
    scan = Scan(secret_of(fake.token))
    scan.add("stdout", run.out)
    scan.add("stderr", run.err)
    scan.logs(caplog)
    for request in fake.requests:
        if request.api_path is None:  # the CDN is someone else's server: never send it the token
            scan.add(f"CDN request {request.path} headers", repr(request.headers))
    scan.check()


def _emails(fake: FakeKlingServer) -> list[str]:
    return [arg for email in fake.emails for arg in ("--email", email)]


BACKENDS = ["asyncio", "trio"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_export_with_download_failures_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    backend: str,
) -> None:
    echo = _echo_body(cli_fake.token)
    cli_fake.add_faults(
        Fault.status(400, body=echo),
        *[Fault.status(500, body=echo)] * 2,
        Fault.status(401, body=f"token {cli_fake.token} revoked"),
        path="/assets/download",
    )
    cli_fake.add_faults(Fault.status(500, body=echo, path="/_cdn/works/"))
    run = kling("--backend", backend, "export", str(tmp_path / "out"), *_emails(cli_fake))
    assert run.status == 1
    assert "Failed works" in run.err
    assert any(request.api_path is None for request in cli_fake.requests)
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_export_with_a_listing_failure_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    backend: str,
) -> None:
    body = f"Authorization: Bearer {cli_fake.token} is not valid for this account"
    # The export's token check goes through; the first listed page gets the 596.
    cli_fake.add_faults(Fault.delay(0), Fault.status(596, body=body), path="/assets", method="GET")
    run = kling(
        "--backend",
        backend,
        "export",
        str(tmp_path / "out"),
        *_emails(cli_fake),
        "--token",
        cli_fake.token,
        "--concurrency",
        "1",
        env=False,
    )
    assert run.status == 1
    assert "stopped at page 1" in run.err
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_export_with_a_401_listing(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    backend: str,
) -> None:
    cli_fake.add_faults(
        *[Fault.status(401, body=_echo_body(cli_fake.token))] * 2, path="/assets", method="GET"
    )
    # The export's token check meets the 401 and stops it before anything is written.
    out = tmp_path / "out"
    run = kling("--backend", backend, "export", str(out), *_emails(cli_fake), "--concurrency", "1")
    assert run.status == 1
    assert "401" in run.err
    assert "USEAPI_TOKEN" in run.err
    assert not out.exists()
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_uploads_delete_with_failures_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    account = cli_fake.data.accounts[0]
    ids = [upload.id for upload in account.uploads]
    echo = _echo_body(cli_fake.token)
    cli_fake.add_faults(
        Fault.status(400, body=echo),
        *[Fault.status(502, body=f"<title>{cli_fake.token}</title>", content_type="text/html")] * 2,
        path="/assets/uploaded",
        method="DELETE",
    )
    assert len(ids) > 10  # two calls: 10 IDs, then the rest
    run = kling("--backend", backend, "uploads", "delete", "--email", account.email, *ids, "--yes")
    assert run.status == 1
    assert "failed" in run.out
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_uploads_delete_with_the_token_on_the_command_line(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    account = cli_fake.data.accounts[0]
    cli_fake.add_faults(
        *[Fault.status(500, body=_echo_body(cli_fake.token))] * 2,
        path="/assets/uploaded",
        method="DELETE",
    )
    run = kling(
        "--backend",
        backend,
        "--token",
        cli_fake.token,
        "uploads",
        "delete",
        "--email",
        account.email,
        account.uploads[0].id,
        "--yes",
        env=False,
    )
    assert run.status == 1
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("echo", [False, True], ids=["plain-401", "echoing-401"])
def test_cli_assets_list_with_a_401(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
    echo: bool,
) -> None:
    body = _echo_body(cli_fake.token) if echo else None
    cli_fake.add_faults(Fault.status(401, body=body), path="/assets", method="GET")
    run = kling("--backend", backend, "assets", "list", "--email", cli_fake.emails[0])
    assert run.status == 1
    assert "401" in run.err
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_elements_get_404_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    cli_fake.add_faults(
        Fault.status(404, body=f"no element for {cli_fake.token}"), path="/elements"
    )
    run = kling(
        "--backend",
        backend,
        "elements",
        "get",
        "u_1",
        "--email",
        cli_fake.emails[0],
        "--token",
        cli_fake.token,
        env=False,
    )
    assert run.status == 1
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_wrong_types_in_a_200_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
) -> None:
    cli_fake.add_faults(
        Fault.body({"uploadAssetsList": [{"id": cli_fake.token, "userId": cli_fake.token}]}),
        path="/assets/uploaded",
    )
    run = kling("--backend", backend, "uploads", "list", "--email", cli_fake.emails[0])
    assert run.status == 1
    _scan_cli(run, cli_fake, debug_logs)


OUTPUTS = [pytest.param([], id="lines"), pytest.param(["--json"], id="json")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_cli_tasks_delete_with_failures_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
    output: list[str],
) -> None:
    account = cli_fake.data.accounts[0]
    ids = [str(task.task_id) for task in account.tasks]
    echo = _echo_body(cli_fake.token)
    cli_fake.add_faults(
        Fault.status(400, body=echo),
        *[Fault.status(502, body=f"<title>{cli_fake.token}</title>", content_type="text/html")] * 2,
        Fault.status(404, body={"error": f"No works found for task {ids[-1]} ({cli_fake.token})"}),
        path="/tasks",
        method="DELETE",
    )
    assert len(ids) > 2
    run = kling(
        "--backend", backend, "tasks", "delete", *ids, "--email", account.email,
        "--yes", "--concurrency", "1", *output,
    )  # fmt: skip
    assert run.status == 1
    assert "failed" in run.out
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_cli_tasks_list_with_the_token_in_what_the_service_sent(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    backend: str,
    output: list[str],
) -> None:
    token = cli_fake.token
    task = {"id": 1, "type": token, "createTime": 1751400000123, "status_name": token}
    task["taskInfo"] = {"arguments": [{"name": "prompt", "value": f"say\n{token}"}]}
    cli_fake.add_faults(Fault.body({"history": [{"task": task, "works": []}]}), path="/tasks")
    run = kling("--backend", backend, "tasks", "list", "--email", cli_fake.emails[0], *output)
    assert run.status == 0
    assert "***" in run.out
    _scan_cli(run, cli_fake, debug_logs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("output", OUTPUTS)
def test_cli_uploads_add_with_failures_echoing_the_token(
    cli_fake: FakeKlingServer,
    kling: Callable[..., CliRun],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    backend: str,
    output: list[str],
) -> None:
    paths = []
    for name in ("a.png", "b.jpg", "c.mp4", "d.mp3"):
        (tmp_path / name).write_bytes(b"\0" * 1000)
        paths.append(str(tmp_path / name))
    token = cli_fake.token
    cli_fake.add_faults(
        Fault.status(400, body=_echo_body(token)),
        Fault.body({"status": 0, "message": f"refused for Bearer {token}"}),
        Fault.status(401, body=f"token {token} revoked"),
        path="/assets",
        method="POST",
    )
    run = kling(
        "--backend", backend, "--token", token, "uploads", "add", *paths,
        "--email", cli_fake.emails[0], "--concurrency", "1", *output, env=False,
    )  # fmt: skip
    assert run.status == 1
    assert "failed" in run.out
    assert "uploaded" in run.out  # the fourth file went through
    _scan_cli(run, cli_fake, debug_logs)


NAMED = [
    pytest.param(["assets", "list", "--tokne={token}"], id="misspelt-after-command"),
    pytest.param(["--tokne", "{token}", "assets", "list"], id="misspelt-before-command"),
    pytest.param(["--t={token}", "assets", "list"], id="abbreviated-ambiguous"),
    pytest.param(["--token", "{token}", "bogus"], id="unknown-command"),
    pytest.param(["--token", "{token}", "--token"], id="token-then-dangling-option"),
    pytest.param(["--token", "{token}", "assets", "list", "--page", "0"], id="token-then-bad-page"),
]
"""Usage errors where the token follows an option like ``--token``: the CLI knows it is one."""

PASTED = [
    pytest.param(["bogus", "{token}"], id="token-as-command"),
    pytest.param(["assets", "{token}"], id="token-as-action"),
    pytest.param(["assets", "list", "{token}"], id="token-as-extra-argument"),
    pytest.param(["assets", "list", "--page", "{token}"], id="token-as-page"),
    pytest.param(["--max-retries", "{token}", "assets", "list"], id="token-as-max-retries"),
    pytest.param(["--timeout", "{token}", "assets", "list"], id="token-as-timeout"),
    pytest.param(["export", "out", "--email", "{token}"], id="token-as-email"),
    pytest.param(["uploads", "delete", "--email", "a@example.com", "{token}"], id="token-as-id"),
]
"""Usage errors where the token is pasted in the wrong place: the CLI can recognise it only by
its shape (useapi.net's) or because it is the one in USEAPI_TOKEN."""


@pytest.mark.parametrize(
    ("args", "token", "in_env"),
    [
        *[pytest.param(*p.values, USEAPI_TOKEN, False, id=f"useapi-token-{p.id}") for p in NAMED],
        *[pytest.param(*p.values, OPAQUE_TOKEN, False, id=f"opaque-token-{p.id}") for p in NAMED],
        *[pytest.param(*p.values, USEAPI_TOKEN, False, id=f"useapi-token-{p.id}") for p in PASTED],
        *[
            pytest.param(*p.values, OPAQUE_TOKEN, True, id=f"opaque-token-in-env-{p.id}")
            for p in PASTED
        ],
    ],
)
def test_cli_usage_error_with_a_misplaced_token(
    args: list[str],
    token: str,
    in_env: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    if in_env:
        monkeypatch.setenv("USEAPI_TOKEN", token)
    else:
        monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
    capsys.readouterr()
    status = cli.main([arg.format(token=token) for arg in args])
    out, err = capsys.readouterr()
    assert status == 2
    assert "error" in err
    scan = Scan(secret_of(token))
    scan.add("stdout", out)
    scan.add("stderr", err)
    scan.logs(debug_logs)
    scan.check()
