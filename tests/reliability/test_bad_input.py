"""Bad input, across the public API and the command line: refused before anything is sent.

Every case here passes one bad argument (everything else good) and checks that:

- nothing reaches the fake server (its request log stays empty);
- the API raises `InvalidInputError` (a `KlingError` and a `ValueError`) whose short message
  names the argument as the caller spelled it, and never echoes a token or URL credentials;
- iterators fail no later than their first ``__anext__`` (or ``__aenter__``), still before any
  request; where a call fails (at the call, when awaited, or when iterated) is not prescribed;
- the command line exits with status 2, prints nothing on stdout and one line (or argparse's
  usage and one error line) on stderr, with no traceback and never the token.

One fake server serves the whole module from a thread of its own (an anyio blocking portal):
the async tests reach it over loopback from asyncio and trio alike, and the command line,
which runs its own event loop, is called in-process against it.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx2
import pytest
from _pytest.mark.structures import ParameterSet

import kling_async.testing
from kling_async import (
    InvalidInputError,
    KlingClient,
    KlingError,
    RetryPolicy,
    batch,
    cli,
)
from kling_async.export import export_works
from kling_async.testing import FAST_RETRY, FakeKlingServer

AREA = "bad input"

pytestmark = pytest.mark.anyio

PROG = "kling-async"

SECRET_PASSWORD = "hunter2-Secret"

ARABIC_3 = "\u0663"  # ARABIC-INDIC DIGIT THREE: int() takes it, the wire must not
FULLWIDTH_12 = "\uff11\uff12"  # FULLWIDTH DIGIT ONE, TWO
DIGITS_5000 = "9" * 5000  # past Python's int/str conversion limit (4300 digits)
HUGE = 10**5000  # an int too large for float() and for str()


# -- the one fake server of the module, and what every case checks -------------------------------


@pytest.fixture(scope="module")
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as running:
        yield running


@pytest.fixture(scope="module")
def fake(portal: anyio.from_thread.BlockingPortal) -> Iterator[FakeKlingServer]:
    """One small fake for the module, served from the portal's thread.

    Before any case runs, a good call through a `KlingClient` is checked to reach it and to be
    logged: an empty request log later on means nothing was sent, not a blind log.
    """
    server = FakeKlingServer(
        accounts=2, works_per_account=4, uploads_per_account=2, elements_per_account=1, seed=11
    )
    with portal.wrap_async_context_manager(server):

        async def good_call() -> None:
            async with KlingClient(
                token=server.token, email=server.emails[0], base_url=server.base_url
            ) as client:
                await client.assets.list(page_size=1)

        portal.call(good_call)
        assert [r.api_path for r in server.requests] == ["/assets"]
        yield server


@pytest.fixture(autouse=True)
def fresh_log(fake: FakeKlingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each case starts with an empty request log and no token or base URL in the environment."""
    fake.reset_stats()
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)


@pytest.fixture
async def client(fake: FakeKlingServer) -> Any:
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url, retry=FAST_RETRY
    ) as kling:
        yield kling


def assert_nothing_sent(fake: FakeKlingServer) -> None:
    assert [f"{r.method} {r.path}" for r in fake.requests] == []


def names_in(text: str, names: Sequence[str]) -> bool:
    """Whether ``text`` names one of ``names`` as a word (``page`` is not in ``page_size``)."""
    return any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) for name in names)


def assert_refused(error: BaseException, names: Sequence[str], *secrets: str) -> None:
    """An `InvalidInputError` with a short message naming the argument, no secret in it."""
    assert isinstance(error, InvalidInputError)
    assert isinstance(error, KlingError)
    assert isinstance(error, ValueError)
    message = str(error)
    assert names_in(message, names), f"{message!r} does not name {' or '.join(names)}"
    assert len(message) <= 400, f"a {len(message)}-character message"
    for secret in secrets:
        assert secret not in message
        assert secret not in repr(error)


async def drive(outcome: object) -> None:
    """Take what a call returned as far as its first request would go.

    A coroutine is awaited; an iterator that is an async context manager (the batch pagers) is
    entered and asked for its first page; any other async iterator is asked for its first item.
    """
    if inspect.isawaitable(outcome):
        await outcome
    elif hasattr(outcome, "__aenter__"):
        async with outcome as pages:  # type: ignore[attr-defined]
            await pages.__anext__()
    elif hasattr(outcome, "__anext__"):
        try:
            await outcome.__anext__()
        finally:
            await outcome.aclose()  # type: ignore[attr-defined]
    else:
        pytest.fail(f"the call returned {type(outcome).__name__}; nothing to drive")


def each(
    prefix: str,
    battery: Sequence[tuple[str, object]],
    make: Callable[..., Any],
    *names: str,
) -> list[ParameterSet]:
    """One case per bad value of ``battery``: ``make(value)`` gives the call."""
    return [pytest.param(make(value), names, id=f"{prefix}={label}") for label, value in battery]


# -- batteries of bad values ----------------------------------------------------------------------

BAD_COUNTS: list[tuple[str, object]] = [
    ("0", 0),
    ("-1", -1),
    ("float 1.5", 1.5),
    ("str '2'", "2"),
    ("True", True),
    ("None", None),
    ("10**5000", HUGE),
    ("2**31", 2**31),
]
"""Page numbers, page sizes, counts: an int from 1 to 2**31 - 1, nothing else."""

SOME_BAD_COUNTS = [BAD_COUNTS[i] for i in (0, 2, 4, 6)]

BAD_EMAILS: list[tuple[str, object]] = [
    ("empty", ""),
    ("blank", "   "),
    ("no @", "no-at-sign.example.com"),
    ("with a space", "a b@example.com"),
    ("with a newline", "a@example\n.com"),
    ("with NUL", "a\x00@example.com"),
    ("with DEL 0x7f", "a\x7f@example.com"),
    ("int", 42),
    ("bytes", b"a@example.com"),
]

SOME_BAD_EMAILS = [BAD_EMAILS[i] for i in (0, 2, 5, 7)]

BAD_IDS: list[tuple[str, object]] = [
    ("empty list", []),
    ("empty string", ""),
    ("blank string", "   "),
    ("negative", -1),
    ("[negative]", [-5]),
    ("float", 1.5),
    ("[float]", [1.5]),
    ("True", True),
    ("[False]", [False]),
    ("'12a'", "12a"),
    ("'1,2' (would add an ID)", "1,2"),
    ("'+1'", "+1"),
    ("'1.0'", "1.0"),
    ("'0x10'", "0x10"),
    ("Arabic-Indic digit", ARABIC_3),
    ("fullwidth digits", FULLWIDTH_12),
    ("5000-digit string", DIGITS_5000),
    ("41-digit string", "1" * 41),
    ("10**5000", HUGE),
    ("10**40 (41 digits)", 10**40),
    ("bytes", b"12"),
    ("None", None),
    ("[None]", [None]),
    ("dict of a work", {"workId": 123}),
    ("one good, one bad", [1, "x"]),
]

SOME_BAD_IDS = [BAD_IDS[i] for i in (0, 9, 14, 18, 20)]

BAD_CONTENT_TYPES: list[tuple[str, object]] = [
    ("'gif'", "gif"),
    ("empty", ""),
    ("int", 3),
    ("list", ["video"]),
    ("bytes", b"video"),
]

BAD_FILE_TYPES: list[tuple[str, object]] = [
    ("unknown 'MOV'", "MOV"),
    ("empty list", []),
    ("empty string", ""),
    ("[MP4, 3]", ["MP4", 3]),
    ("int", 3),
    ("[None]", [None]),
    ("'MP4,PNG' in one string", ["MP4,PNG"]),
]

BAD_SORTS: list[tuple[str, object]] = [("'newest'", "newest"), ("empty", ""), ("int", 1)]

BAD_TIMEOUTS: list[tuple[str, object]] = [
    ("0", 0),
    ("-1", -1),
    ("NaN", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("str '5'", "5"),
    ("True", True),
    ("10**5000", HUGE),
    ("list", [5]),
    ("Timeout(NaN)", httpx2.Timeout(math.nan)),
    ("Timeout(connect=-1)", httpx2.Timeout(5.0, connect=-1.0)),
    ("Timeout(read=inf)", httpx2.Timeout(5.0, read=math.inf)),
]

SOME_BAD_TIMEOUTS = [BAD_TIMEOUTS[i] for i in (0, 2, 5, 9)]

BAD_RATES: list[tuple[str, object]] = [
    ("0", 0),
    ("-1", -1),
    ("NaN", math.nan),
    ("inf", math.inf),
    ("-inf", -math.inf),
    ("str '5'", "5"),
    ("True", True),
    ("10**5000", HUGE),
]
"""``max_per_second``: a positive finite number, or None."""


# -- KlingClient(...) -----------------------------------------------------------------------------

GOOD = "user:12345-GoodTokenGoodToken"


def _client_case(
    case_id: str,
    kwargs: Callable[[], dict[str, Any]],
    *names: str,
    env: dict[str, str] | None = None,
    secret: str = "",
) -> ParameterSet:
    return pytest.param(kwargs, names, env or {}, secret, id=case_id)


CLIENT_CASES = [
    # token
    _client_case("token None and no USEAPI_TOKEN", lambda: {"token": None}, "token"),
    _client_case("token empty", lambda: {"token": ""}, "token"),
    _client_case("token blank", lambda: {"token": " \t "}, "token"),
    _client_case("token int", lambda: {"token": 12345}, "token"),
    _client_case("token bytes", lambda: {"token": GOOD.encode()}, "token"),
    _client_case(
        "token with a space", lambda: {"token": "user:1-Good Token"}, "token", secret="Good Token"
    ),
    _client_case(
        "token with a tab inside", lambda: {"token": "user:1-Good\tX"}, "token", secret="Good\tX"
    ),
    _client_case(
        "token non-ASCII", lambda: {"token": "user:1-T\u00f6ken"}, "token", secret="T\u00f6ken"
    ),
    _client_case(
        "token with NUL", lambda: {"token": "user:1-Tok\x00en"}, "token", secret="Tok\x00en"
    ),
    _client_case(
        "token with CR LF (header injection)",
        lambda: {"token": "user:1-Tok\r\nX-Evil: 1"},
        "token",
        secret="X-Evil",
    ),
    _client_case(
        "token with DEL 0x7f", lambda: {"token": "user:1-Tok\x7fen"}, "token", secret="Tok\x7fen"
    ),
    _client_case(
        "USEAPI_TOKEN blank", lambda: {"token": None}, "token", env={"USEAPI_TOKEN": "   "}
    ),
    _client_case(
        "USEAPI_TOKEN with a space",
        lambda: {"token": None},
        "token",
        env={"USEAPI_TOKEN": "user:1-Env Token"},
        secret="Env Token",
    ),
    # email
    *[
        _client_case(f"email {label}", lambda value=value: {"email": value}, "email")
        for label, value in BAD_EMAILS
    ],
    # base_url
    _client_case("base_url ftp scheme", lambda: {"base_url": "ftp://example.com/v1"}, "base_url"),
    _client_case("base_url file scheme", lambda: {"base_url": "file:///etc/passwd"}, "base_url"),
    _client_case("base_url no host", lambda: {"base_url": "http:///v1/kling"}, "base_url"),
    _client_case("base_url scheme only", lambda: {"base_url": "https://"}, "base_url"),
    _client_case("base_url no scheme", lambda: {"base_url": "//example.com/v1"}, "base_url"),
    _client_case("base_url host:port only", lambda: {"base_url": "localhost:8080"}, "base_url"),
    _client_case("base_url not a URL", lambda: {"base_url": "not a url"}, "base_url"),
    _client_case("base_url port 99999", lambda: {"base_url": "http://host:99999/v1"}, "base_url"),
    _client_case(
        "base_url with a query", lambda: {"base_url": "https://h.example/v1?x=1"}, "base_url"
    ),
    _client_case(
        "base_url with a fragment", lambda: {"base_url": "https://h.example/v1#x"}, "base_url"
    ),
    _client_case(
        "base_url with user:pass@",
        lambda: {"base_url": f"https://me:{SECRET_PASSWORD}@h.example/v1"},
        "base_url",
        secret=SECRET_PASSWORD,
    ),
    _client_case(
        "base_url with user@",
        lambda: {"base_url": f"https://{SECRET_PASSWORD}@h.example/v1"},
        "base_url",
        secret=SECRET_PASSWORD,
    ),
    _client_case("base_url int", lambda: {"base_url": 8080}, "base_url"),
    _client_case(
        "USEAPI_BASE_URL ftp scheme",
        lambda: {"base_url": None},
        "base_url",
        env={"USEAPI_BASE_URL": "ftp://example.com/v1"},
    ),
    # timeout
    *[
        _client_case(f"timeout {label}", lambda value=value: {"timeout": value}, "timeout")
        for label, value in BAD_TIMEOUTS
    ],
    # max_retries, retry
    _client_case("max_retries -1", lambda: {"max_retries": -1}, "max_retries"),
    _client_case("max_retries 1.5", lambda: {"max_retries": 1.5}, "max_retries"),
    _client_case("max_retries str '2'", lambda: {"max_retries": "2"}, "max_retries"),
    _client_case("max_retries True", lambda: {"max_retries": True}, "max_retries"),
    _client_case("max_retries None", lambda: {"max_retries": None}, "max_retries"),
    _client_case("max_retries 10**5000", lambda: {"max_retries": HUGE}, "max_retries"),
    _client_case("retry str", lambda: {"retry": "fast"}, "retry"),
    _client_case("retry dict", lambda: {"retry": {"max_retries": 1}}, "retry"),
    _client_case("retry the RetryPolicy class", lambda: {"retry": RetryPolicy}, "retry"),
    # http_client, limits
    _client_case(
        "http_client a sync httpx2.Client", lambda: {"http_client": httpx2.Client()}, "http_client"
    ),
    _client_case(
        "http_client a transport",
        lambda: {"http_client": httpx2.AsyncHTTPTransport()},
        "http_client",
    ),
    _client_case("http_client a URL string", lambda: {"http_client": "http://x"}, "http_client"),
    _client_case("limits dict", lambda: {"limits": {"max_connections": 5}}, "limits"),
    _client_case("limits int", lambda: {"limits": 10}, "limits"),
    _client_case("limits an httpx2.Timeout", lambda: {"limits": httpx2.Timeout(5.0)}, "limits"),
]


@pytest.mark.parametrize(("kwargs", "names", "env", "secret"), CLIENT_CASES)
def test_the_client_refuses(
    fake: FakeKlingServer,
    monkeypatch: pytest.MonkeyPatch,
    kwargs: Callable[[], dict[str, Any]],
    names: tuple[str, ...],
    env: dict[str, str],
    secret: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    arguments = {"token": fake.token, "base_url": fake.base_url, **kwargs()}
    try:
        with pytest.raises(InvalidInputError) as info:
            KlingClient(**arguments)
    finally:
        for value in arguments.values():
            if isinstance(value, httpx2.Client):
                value.close()
    assert_refused(info.value, names, *([secret] if secret else []))
    assert_nothing_sent(fake)


# -- client.with_options(...) ---------------------------------------------------------------------

WITH_OPTIONS_CASES = [
    *each("email", SOME_BAD_EMAILS, lambda v: {"email": v}, "email"),
    *each("timeout", BAD_TIMEOUTS[:9], lambda v: {"timeout": v}, "timeout"),
    *each(
        "max_retries",
        [("-1", -1), ("True", True), ("str '2'", "2"), ("10**5000", HUGE)],
        lambda v: {"max_retries": v},
        "max_retries",
    ),
    *each("retry", [("str", "fast"), ("int", 3)], lambda v: {"retry": v}, "retry"),
]


@pytest.mark.parametrize(("kwargs", "names"), WITH_OPTIONS_CASES)
async def test_with_options_refuses(
    client: KlingClient, fake: FakeKlingServer, kwargs: dict[str, Any], names: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInputError) as info:
        client.with_options(**kwargs)
    assert_refused(info.value, names)
    assert_nothing_sent(fake)


# -- RetryPolicy(...) -----------------------------------------------------------------------------

RETRY_POLICY_CASES = [
    *each(
        "max_retries",
        [("-1", -1), ("1.5", 1.5), ("str '2'", "2"), ("True", True), ("10**5000", HUGE)],
        lambda v: {"max_retries": v},
        "RetryPolicy.max_retries",
    ),
    *each(
        "backoff_initial",
        [("-1", -1), ("NaN", math.nan), ("inf", math.inf), ("str", "0.5"), ("True", True)],
        lambda v: {"backoff_initial": v},
        "RetryPolicy.backoff_initial",
    ),
    *each(
        "backoff_initial",
        [("10**5000", HUGE)],
        lambda v: {"backoff_initial": v},
        "RetryPolicy.backoff_initial",
    ),
    *each(
        "backoff_max", [("NaN", math.nan)], lambda v: {"backoff_max": v}, "RetryPolicy.backoff_max"
    ),
    *each(
        "rate_limit_wait",
        [("-1", -1), ("-inf", -math.inf)],
        lambda v: {"rate_limit_wait": v},
        "RetryPolicy.rate_limit_wait",
    ),
    *each(
        "max_retry_after",
        [("inf", math.inf), ("None", None)],
        lambda v: {"max_retry_after": v},
        "RetryPolicy.max_retry_after",
    ),
    *each(
        "jitter",
        [("1.5", 1.5), ("-0.1", -0.1), ("NaN", math.nan)],
        lambda v: {"jitter": v},
        "RetryPolicy.jitter",
    ),
    *each(
        "retry_statuses",
        [
            ("status 99", frozenset({99})),
            ("status 1000", frozenset({1000})),
            ("True as a status", frozenset({True})),
            ("'429' as a string", frozenset({"429"})),
            ("a bare int", 429),
        ],
        lambda v: {"retry_statuses": v},
        "RetryPolicy.retry_statuses",
    ),
]


@pytest.mark.parametrize(("kwargs", "names"), RETRY_POLICY_CASES)
def test_retry_policy_refuses(
    fake: FakeKlingServer, kwargs: dict[str, Any], names: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInputError) as info:
        RetryPolicy(**kwargs)
    assert_refused(info.value, names)
    assert_nothing_sent(fake)


# -- the endpoint methods -------------------------------------------------------------------------

Call = Callable[[KlingClient], object]

ELEVEN_IDS = [str(n) for n in range(1, 12)]

RESOURCE_CASES: list[ParameterSet] = [
    # assets.list: every argument
    *each(
        "assets.list page_num",
        BAD_COUNTS,
        lambda v: lambda c: c.assets.list(page_num=v),
        "page_num",
    ),
    *each(
        "assets.list page_size",
        BAD_COUNTS,
        lambda v: lambda c: c.assets.list(page_size=v),
        "page_size",
    ),
    *each(
        "assets.list content_type",
        BAD_CONTENT_TYPES,
        lambda v: lambda c: c.assets.list(content_type=v),
        "content_type",
    ),
    *each("assets.list email", BAD_EMAILS, lambda v: lambda c: c.assets.list(email=v), "email"),
    *each("assets.list sort", BAD_SORTS, lambda v: lambda c: c.assets.list(sort=v), "sort"),
    *each(
        "assets.list timeout", BAD_TIMEOUTS, lambda v: lambda c: c.assets.list(timeout=v), "timeout"
    ),
    # assets.iter_works and assets.iter_pages: each argument once or a few times
    *each(
        "assets.iter_works page_size",
        SOME_BAD_COUNTS,
        lambda v: lambda c: c.assets.iter_works(page_size=v),
        "page_size",
    ),
    *each(
        "assets.iter_works content_type",
        BAD_CONTENT_TYPES[:2],
        lambda v: lambda c: c.assets.iter_works(content_type=v),
        "content_type",
    ),
    *each(
        "assets.iter_works email",
        SOME_BAD_EMAILS,
        lambda v: lambda c: c.assets.iter_works(email=v),
        "email",
    ),
    *each(
        "assets.iter_works sort",
        BAD_SORTS[:1],
        lambda v: lambda c: c.assets.iter_works(sort=v),
        "sort",
    ),
    *each(
        "assets.iter_works timeout",
        SOME_BAD_TIMEOUTS,
        lambda v: lambda c: c.assets.iter_works(timeout=v),
        "timeout",
    ),
    *each(
        "assets.iter_pages page_size",
        SOME_BAD_COUNTS,
        lambda v: lambda c: c.assets.iter_pages(page_size=v),
        "page_size",
    ),
    *each(
        "assets.iter_pages content_type",
        BAD_CONTENT_TYPES[:1],
        lambda v: lambda c: c.assets.iter_pages(content_type=v),
        "content_type",
    ),
    *each(
        "assets.iter_pages email",
        SOME_BAD_EMAILS[:2],
        lambda v: lambda c: c.assets.iter_pages(email=v),
        "email",
    ),
    *each(
        "assets.iter_pages sort",
        BAD_SORTS[2:],
        lambda v: lambda c: c.assets.iter_pages(sort=v),
        "sort",
    ),
    *each(
        "assets.iter_pages timeout",
        SOME_BAD_TIMEOUTS[:2],
        lambda v: lambda c: c.assets.iter_pages(timeout=v),
        "timeout",
    ),
    # assets.download
    *each(
        "assets.download work_ids",
        BAD_IDS,
        lambda v: lambda c: c.assets.download(v),
        "work_ids",
    ),
    *each(
        "assets.download file_types",
        BAD_FILE_TYPES,
        lambda v: lambda c: c.assets.download([1], file_types=v),
        "file_types",
    ),
    *each(
        "assets.download email",
        SOME_BAD_EMAILS,
        lambda v: lambda c: c.assets.download([1], email=v),
        "email",
    ),
    *each(
        "assets.download timeout",
        SOME_BAD_TIMEOUTS,
        lambda v: lambda c: c.assets.download([1], timeout=v),
        "timeout",
    ),
    # uploads.list, uploads.iter_assets, uploads.iter_pages
    *each(
        "uploads.list page_num",
        SOME_BAD_COUNTS,
        lambda v: lambda c: c.uploads.list(page_num=v),
        "page_num",
    ),
    *each(
        "uploads.list page_size",
        SOME_BAD_COUNTS,
        lambda v: lambda c: c.uploads.list(page_size=v),
        "page_size",
    ),
    *each(
        "uploads.list content_type",
        BAD_CONTENT_TYPES[:3],
        lambda v: lambda c: c.uploads.list(content_type=v),
        "content_type",
    ),
    *each(
        "uploads.list file_name",
        [("empty", ""), ("blank", "  \t"), ("int", 3), ("list", ["a.png"])],
        lambda v: lambda c: c.uploads.list(file_name=v),
        "file_name",
    ),
    *each(
        "uploads.list email", SOME_BAD_EMAILS, lambda v: lambda c: c.uploads.list(email=v), "email"
    ),
    *each("uploads.list sort", BAD_SORTS[:1], lambda v: lambda c: c.uploads.list(sort=v), "sort"),
    *each(
        "uploads.list timeout",
        SOME_BAD_TIMEOUTS[:2],
        lambda v: lambda c: c.uploads.list(timeout=v),
        "timeout",
    ),
    *each(
        "uploads.iter_assets page_size",
        SOME_BAD_COUNTS,
        lambda v: lambda c: c.uploads.iter_assets(page_size=v),
        "page_size",
    ),
    *each(
        "uploads.iter_assets content_type",
        BAD_CONTENT_TYPES[:1],
        lambda v: lambda c: c.uploads.iter_assets(content_type=v),
        "content_type",
    ),
    *each(
        "uploads.iter_assets file_name",
        [("empty", "")],
        lambda v: lambda c: c.uploads.iter_assets(file_name=v),
        "file_name",
    ),
    *each(
        "uploads.iter_assets email",
        SOME_BAD_EMAILS[:2],
        lambda v: lambda c: c.uploads.iter_assets(email=v),
        "email",
    ),
    *each(
        "uploads.iter_assets sort",
        BAD_SORTS[:1],
        lambda v: lambda c: c.uploads.iter_assets(sort=v),
        "sort",
    ),
    *each(
        "uploads.iter_assets timeout",
        SOME_BAD_TIMEOUTS[:2],
        lambda v: lambda c: c.uploads.iter_assets(timeout=v),
        "timeout",
    ),
    *each(
        "uploads.iter_pages page_size",
        SOME_BAD_COUNTS[:2],
        lambda v: lambda c: c.uploads.iter_pages(page_size=v),
        "page_size",
    ),
    *each(
        "uploads.iter_pages content_type",
        BAD_CONTENT_TYPES[:1],
        lambda v: lambda c: c.uploads.iter_pages(content_type=v),
        "content_type",
    ),
    *each(
        "uploads.iter_pages file_name",
        [("blank", "   ")],
        lambda v: lambda c: c.uploads.iter_pages(file_name=v),
        "file_name",
    ),
    *each(
        "uploads.iter_pages email",
        SOME_BAD_EMAILS[:1],
        lambda v: lambda c: c.uploads.iter_pages(email=v),
        "email",
    ),
    *each(
        "uploads.iter_pages timeout",
        SOME_BAD_TIMEOUTS[2:3],
        lambda v: lambda c: c.uploads.iter_pages(timeout=v),
        "timeout",
    ),
    # uploads.delete
    *each("uploads.delete ids", BAD_IDS, lambda v: lambda c: c.uploads.delete(v), "ids"),
    pytest.param(
        lambda c: c.uploads.delete(ELEVEN_IDS),
        ("ids",),
        id="uploads.delete ids=11 distinct IDs (at most 10)",
    ),
    pytest.param(
        lambda c: c.uploads.delete([*ELEVEN_IDS[:10], "x"]),
        ("ids",),
        id="uploads.delete ids=10 good and 1 bad",
    ),
    pytest.param(
        lambda c: c.with_options(email=None).uploads.delete([1]),
        ("email",),
        id="uploads.delete email=missing (no default either)",
    ),
    *each(
        "uploads.delete email",
        SOME_BAD_EMAILS,
        lambda v: lambda c: c.uploads.delete([1], email=v),
        "email",
    ),
    *each(
        "uploads.delete timeout",
        SOME_BAD_TIMEOUTS,
        lambda v: lambda c: c.uploads.delete([1], timeout=v),
        "timeout",
    ),
    # elements.get
    *each(
        "elements.get element_id",
        [
            ("empty", ""),
            ("blank", "  "),
            ("'.'", "."),
            ("'..'", ".."),
            ("' .. '", " .. "),
            ("None", None),
            ("int", 5),
            ("bytes", b"u_1"),
            ("list", ["u_1"]),
        ],
        lambda v: lambda c: c.elements.get(v),
        "element_id",
    ),
    *each(
        "elements.get email",
        SOME_BAD_EMAILS,
        lambda v: lambda c: c.elements.get("u_1", email=v),
        "email",
    ),
    *each(
        "elements.get timeout",
        SOME_BAD_TIMEOUTS,
        lambda v: lambda c: c.elements.get("u_1", timeout=v),
        "timeout",
    ),
]


@pytest.mark.parametrize(("call", "names"), RESOURCE_CASES)
async def test_an_endpoint_method_refuses(
    client: KlingClient, fake: FakeKlingServer, call: Call, names: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await drive(call(client))
    assert_refused(info.value, names)
    assert_nothing_sent(fake)


# -- kling_async.batch ----------------------------------------------------------------------------

BAD_CONCURRENCY = [*BAD_COUNTS, ("NaN", math.nan), ("inf", math.inf)]


def _pager(function: Callable[..., Any], name: str) -> Callable[[object], Call]:
    return lambda value: lambda c: function(c, **{name: value})


BATCH_CASES: list[ParameterSet] = [
    # batch.iter_pages: every argument
    *each(
        "batch.iter_pages concurrency",
        BAD_CONCURRENCY,
        _pager(batch.iter_pages, "concurrency"),
        "concurrency",
    ),
    *each(
        "batch.iter_pages per_account",
        BAD_COUNTS[:6],
        _pager(batch.iter_pages, "per_account"),
        "per_account",
    ),
    *each(
        "batch.iter_pages page_size",
        SOME_BAD_COUNTS,
        _pager(batch.iter_pages, "page_size"),
        "page_size",
    ),
    *each(
        "batch.iter_pages max_per_second",
        BAD_RATES,
        _pager(batch.iter_pages, "max_per_second"),
        "max_per_second",
    ),
    *each(
        "batch.iter_pages on_error",
        [("'ignore'", "ignore"), ("None", None), ("True", True), ("'RAISE'", "RAISE")],
        _pager(batch.iter_pages, "on_error"),
        "on_error",
    ),
    *each(
        "batch.iter_pages emails",
        [
            ("empty list", []),
            ("empty string", ""),
            ("[no @]", ["no-at-sign"]),
            ("[int]", [42]),
            ("int", 42),
            ("[None]", [None]),
            ("['']", [""]),
            ("bytes", b"a@example.com"),
            ("[good, with a newline]", ["a@example.com", "b@example\n.com"]),
        ],
        _pager(batch.iter_pages, "emails"),
        "emails",
        "email",
    ),
    *each(
        "batch.iter_pages content_type",
        BAD_CONTENT_TYPES[:2],
        _pager(batch.iter_pages, "content_type"),
        "content_type",
    ),
    *each("batch.iter_pages sort", BAD_SORTS[:1], _pager(batch.iter_pages, "sort"), "sort"),
    # batch.iter_upload_pages
    *each(
        "batch.iter_upload_pages concurrency",
        SOME_BAD_COUNTS,
        _pager(batch.iter_upload_pages, "concurrency"),
        "concurrency",
    ),
    *each(
        "batch.iter_upload_pages per_account",
        SOME_BAD_COUNTS[:2],
        _pager(batch.iter_upload_pages, "per_account"),
        "per_account",
    ),
    *each(
        "batch.iter_upload_pages page_size",
        SOME_BAD_COUNTS[:2],
        _pager(batch.iter_upload_pages, "page_size"),
        "page_size",
    ),
    *each(
        "batch.iter_upload_pages max_per_second",
        [BAD_RATES[i] for i in (0, 2, 3)],
        _pager(batch.iter_upload_pages, "max_per_second"),
        "max_per_second",
    ),
    *each(
        "batch.iter_upload_pages on_error",
        [("'ignore'", "ignore")],
        _pager(batch.iter_upload_pages, "on_error"),
        "on_error",
    ),
    *each(
        "batch.iter_upload_pages emails",
        [("empty list", []), ("[no @]", ["no-at-sign"])],
        _pager(batch.iter_upload_pages, "emails"),
        "emails",
        "email",
    ),
    *each(
        "batch.iter_upload_pages file_name",
        [("empty", "")],
        _pager(batch.iter_upload_pages, "file_name"),
        "file_name",
    ),
    *each(
        "batch.iter_upload_pages content_type",
        BAD_CONTENT_TYPES[:1],
        _pager(batch.iter_upload_pages, "content_type"),
        "content_type",
    ),
    # batch.download
    *each(
        "batch.download work_ids",
        SOME_BAD_IDS,
        lambda v: lambda c: batch.download(c, v),
        "work_ids",
    ),
    *each(
        "batch.download chunk_size",
        [*BAD_COUNTS[:6], ("11 (at most 10)", 11)],
        lambda v: lambda c: batch.download(c, [1, 2], chunk_size=v),
        "chunk_size",
    ),
    *each(
        "batch.download concurrency",
        [BAD_CONCURRENCY[i] for i in (0, 1, 4, 8)],
        lambda v: lambda c: batch.download(c, [1, 2], concurrency=v),
        "concurrency",
    ),
    *each(
        "batch.download max_per_second",
        [BAD_RATES[i] for i in (0, 2, 3, 7)],
        lambda v: lambda c: batch.download(c, [1, 2], max_per_second=v),
        "max_per_second",
    ),
    *each(
        "batch.download file_types",
        BAD_FILE_TYPES[:2],
        lambda v: lambda c: batch.download(c, [1, 2], file_types=v),
        "file_types",
    ),
    *each(
        "batch.download email",
        SOME_BAD_EMAILS[:3],
        lambda v: lambda c: batch.download(c, [1, 2], email=v),
        "email",
    ),
    # batch.delete_uploaded
    *each(
        "batch.delete_uploaded ids",
        SOME_BAD_IDS,
        lambda v: lambda c: batch.delete_uploaded(c, v),
        "ids",
    ),
    pytest.param(
        lambda c: batch.delete_uploaded(c, [*ELEVEN_IDS, "12a"]),
        ("ids",),
        id="batch.delete_uploaded ids=11 good and 1 bad (no chunk is sent)",
    ),
    pytest.param(
        lambda c: batch.delete_uploaded(c.with_options(email=None), [1, 2]),
        ("email",),
        id="batch.delete_uploaded email=missing (no default either)",
    ),
    *each(
        "batch.delete_uploaded email",
        SOME_BAD_EMAILS,
        lambda v: lambda c: batch.delete_uploaded(c, [1, 2], email=v),
        "email",
    ),
    *each(
        "batch.delete_uploaded chunk_size",
        [("0", 0), ("11 (at most 10)", 11), ("True", True), ("str '10'", "10")],
        lambda v: lambda c: batch.delete_uploaded(c, [1, 2], chunk_size=v),
        "chunk_size",
    ),
    *each(
        "batch.delete_uploaded concurrency",
        [BAD_CONCURRENCY[i] for i in (0, 2, 6)],
        lambda v: lambda c: batch.delete_uploaded(c, [1, 2], concurrency=v),
        "concurrency",
    ),
    *each(
        "batch.delete_uploaded max_per_second",
        [BAD_RATES[i] for i in (1, 4, 7)],
        lambda v: lambda c: batch.delete_uploaded(c, [1, 2], max_per_second=v),
        "max_per_second",
    ),
]


@pytest.mark.parametrize(("call", "names"), BATCH_CASES)
async def test_a_batch_helper_refuses(
    client: KlingClient, fake: FakeKlingServer, call: Call, names: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidInputError) as info:
        await drive(call(client))
    assert_refused(info.value, names)
    assert_nothing_sent(fake)


# -- export_works ---------------------------------------------------------------------------------

EXPORT_CASES: list[ParameterSet] = [
    *each(
        "concurrency",
        [*BAD_COUNTS, ("NaN", math.nan)],
        lambda v: {"concurrency": v},
        "concurrency",
    ),
    *each(
        "file_type",
        [
            ("unknown 'MOV'", "MOV"),
            ("empty string", ""),
            ("int", 3),
            ("two types", ["MP4", "PNG"]),
            ("empty list", []),
        ],
        lambda v: {"file_type": v},
        "file_type",
    ),
    *each("content_type", BAD_CONTENT_TYPES[:3], lambda v: {"content_type": v}, "content_type"),
    *each("page_size", SOME_BAD_COUNTS[:2], lambda v: {"page_size": v}, "page_size"),
    *each(
        "emails",
        [
            ("['']", [""]),
            ("[no @]", ["no-at-sign"]),
            ("[int]", [42]),
            ("[None]", [None]),
            ("int", 42),
            ("[good, with a space]", ["a@example.com", "a b@example.com"]),
            ("[with DEL]", ["a\x7f@example.com"]),
        ],
        lambda v: {"emails": v},
        "emails",
        "email",
    ),
]


@pytest.mark.parametrize(("kwargs", "names"), EXPORT_CASES)
async def test_export_works_refuses(
    client: KlingClient,
    fake: FakeKlingServer,
    tmp_path: Path,
    kwargs: dict[str, Any],
    names: tuple[str, ...],
) -> None:
    out = tmp_path / "export"
    with pytest.raises(InvalidInputError) as info:
        await export_works(client, out, **kwargs)
    assert_refused(info.value, names)
    assert not out.exists()
    assert_nothing_sent(fake)


# -- the command line -----------------------------------------------------------------------------


class Run:
    """One finished command: its status and captured output."""

    def __init__(self, status: int, out: str, err: str) -> None:
        self.status, self.out, self.err = status, out, err


@pytest.fixture
def kling(
    fake: FakeKlingServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Callable[..., Run]:
    """Run ``kling-async`` in-process against the fake, the token in USEAPI_TOKEN.

    ``{email}`` and ``{out}`` in an argument stand for the fake's first account and a folder
    that must not be created. ``fake-server`` never serves here: past its own checks it notes
    that it would have started serving, and returns.
    """
    monkeypatch.setenv("USEAPI_TOKEN", fake.token)
    monkeypatch.chdir(tmp_path)  # `demo` defaults to ./kling-demo-export

    def would_serve(*, on_ready: object, backend: str, **settings: Any) -> None:
        FakeKlingServer(**settings)  # the checks of the real `run`, which then serves
        print("fake-server would have started serving", settings)

    monkeypatch.setattr(kling_async.testing, "run", would_serve)

    def run(*args: str) -> Run:
        values = [a.replace("{email}", fake.emails[0]).replace("{out}", "out") for a in args]
        capsys.readouterr()
        status = cli.main(["--base-url", fake.base_url, "--max-retries", "0", *values])
        out, err = capsys.readouterr()
        assert not (tmp_path / "out").exists()
        assert not (tmp_path / "kling-demo-export").exists()
        return Run(status, out, err)

    return run


def _option(
    command: Sequence[str],
    option: str,
    battery: Sequence[tuple[str, str]],
    *names: str,
    before: bool = False,
) -> list[ParameterSet]:
    """One case per bad text of ``battery`` given to ``option`` after ``command`` (or before)."""
    shown = " ".join(command).replace("{email}", "E").replace("{out}", "OUT")
    return [
        pytest.param(
            [f"{option}={text}", *command] if before else [*command, f"{option}={text}"],
            names or (option,),
            id=f"{option}={label} {shown}" if before else f"{shown} {option}={label}",
        )
        for label, text in battery
    ]


INT_TEXTS: list[tuple[str, str]] = [
    ("0", "0"),
    ("-1", "-1"),
    ("1.5", "1.5"),
    ("nan", "nan"),
    ("inf", "inf"),
    ("Arabic-Indic digit", ARABIC_3),
    ("fullwidth digits", FULLWIDTH_12),
    ("5000 digits", DIGITS_5000),
    ("2**31", "2147483648"),
    ("empty", ""),
    ("a word", "ten"),
    ("1e3", "1e3"),
    ("hex", "0x10"),
]
"""Texts that are not an int from 1 to 2**31 - 1."""


def _ints(*labels: str) -> list[tuple[str, str]]:
    return [(label, text) for label, text in INT_TEXTS if label in labels]


FLOAT_TEXTS: list[tuple[str, str]] = [
    ("0", "0"),
    ("-0", "-0"),
    ("-1", "-1"),
    ("nan", "nan"),
    ("NaN", "NaN"),
    ("inf", "inf"),
    ("-inf", "-inf"),
    ("1e999 (overflows to inf)", "1e999"),
    ("Arabic-Indic digit", ARABIC_3),
    ("empty", ""),
    ("a word", "soon"),
    ("hex", "0x10"),
]
"""Texts that are not positive finite seconds."""

ASSETS_LIST = ["assets", "list", "--email={email}"]
UPLOADS_LIST = ["uploads", "list", "--email={email}"]
EXPORT = ["export", "{out}", "--email={email}"]

CLI_NUMBER_CASES: list[ParameterSet] = [
    *_option(ASSETS_LIST, "--page", INT_TEXTS),
    *_option(ASSETS_LIST, "--page-size", INT_TEXTS),
    *_option(UPLOADS_LIST, "--page", _ints("0", "nan", "Arabic-Indic digit", "5000 digits")),
    *_option(UPLOADS_LIST, "--page-size", _ints("-1", "1.5", "fullwidth digits", "2**31")),
    *_option(ASSETS_LIST, "--timeout", FLOAT_TEXTS, before=True),
    *_option(ASSETS_LIST, "--timeout", [("nan", "nan"), ("0", "0")]),
    *_option(
        ASSETS_LIST,
        "--max-retries",
        _ints("-1", "1.5", "nan", "Arabic-Indic digit", "5000 digits", "2**31", "empty", "1e3"),
        before=True,
    ),
    *_option(["elements", "get", "u_1"], "--max-retries", _ints("-1", "fullwidth digits")),
    *_option(
        EXPORT,
        "--concurrency",
        _ints("0", "-1", "1.5", "nan", "Arabic-Indic digit", "fullwidth digits", "5000 digits"),
    ),
    *_option(EXPORT, "--concurrency", _ints("2**31", "empty")),
    *_option(
        ["demo", "{out}"],
        "--concurrency",
        _ints("0", "-1", "inf", "Arabic-Indic digit", "5000 digits", "a word"),
    ),
    *_option(
        ["fake-server"],
        "--port",
        [
            ("-1", "-1"),
            ("65536", "65536"),
            ("Arabic-Indic digit", ARABIC_3),
            ("nan", "nan"),
            ("1.5", "1.5"),
            ("5000 digits", DIGITS_5000),
        ],
    ),
    *_option(
        ["fake-server"],
        "--accounts",
        _ints("0", "-1", "Arabic-Indic digit", "5000 digits", "1.5"),
    ),
    *_option(
        ["fake-server"],
        "--works",
        [
            ("-1", "-1"),
            ("100001 (at most 100000)", "100001"),
            ("Arabic-Indic digit", ARABIC_3),
            ("fullwidth digits", FULLWIDTH_12),
            ("nan", "nan"),
            ("1.5", "1.5"),
            ("5000 digits", DIGITS_5000),
        ],
        "--works",
        "works",
    ),
    *_option(
        ["fake-server"],
        "--latency",
        [
            ("-1", "-1"),
            ("nan", "nan"),
            ("inf", "inf"),
            ("a word", "slow"),
            ("Arabic-Indic digit", ARABIC_3),
        ],
        "--latency",
        "latency",
    ),
    *_option(
        ["fake-server"],
        "--seed",
        [
            ("nan", "nan"),
            ("1.5", "1.5"),
            ("Arabic-Indic digit", ARABIC_3),
            ("a word", "seven"),
        ],
    ),
]


def _cli(case_id: str, args: Sequence[str], *names: str) -> ParameterSet:
    return pytest.param(list(args), names, id=case_id)


BAD_ID_TEXTS: list[tuple[str, str]] = [
    ("'12a'", "12a"),
    ("-1", "-1"),
    ("1.5", "1.5"),
    ("Arabic-Indic digit", ARABIC_3),
    ("fullwidth digits", FULLWIDTH_12),
    ("5000 digits", DIGITS_5000),
    ("41 digits", "1" * 41),
    ("empty", ""),
    ("blank", "  "),
    ("hex", "0x10"),
    ("'1,2'", "1,2"),
    ("'+1'", "+1"),
    ("1e3", "1e3"),
]

CLI_OTHER_CASES: list[ParameterSet] = [
    # choices
    _cli("assets list --content-type=gif", [*ASSETS_LIST, "--content-type=gif"], "--content-type"),
    _cli("assets list --content-type=", [*ASSETS_LIST, "--content-type="], "--content-type"),
    _cli(
        "uploads list --content-type=gif", [*UPLOADS_LIST, "--content-type=gif"], "--content-type"
    ),
    _cli("export --content-type=gif", [*EXPORT, "--content-type=gif"], "--content-type"),
    _cli("export --file-type=MOV", [*EXPORT, "--file-type=MOV"], "--file-type"),
    _cli("export --file-type=", [*EXPORT, "--file-type="], "--file-type"),
    _cli("export --file-type=MP4,PNG", [*EXPORT, "--file-type=MP4,PNG"], "--file-type"),
    _cli("--backend=curio", ["--backend=curio", *ASSETS_LIST], "--backend"),
    _cli("uploads list --file-name=", [*UPLOADS_LIST, "--file-name="], "file_name"),
    _cli("uploads list --file-name=blank", [*UPLOADS_LIST, "--file-name=   "], "file_name"),
    # IDs of uploads delete
    *[
        _cli(f"uploads delete ID={label}", ["uploads", "delete", "--email={email}", text], "ID")
        for label, text in BAD_ID_TEXTS
    ],
    _cli(
        "uploads delete ID=one good then one bad",
        ["uploads", "delete", "--email={email}", "1", "x"],
        "ID",
    ),
    _cli(
        "uploads delete ID=eleven good then one bad",
        ["uploads", "delete", "--email={email}", *ELEVEN_IDS, "12a"],
        "ID",
    ),
    # element IDs
    *[
        _cli(f"elements get ID={label}", ["elements", "get", text], "element_id")
        for label, text in [("'.'", "."), ("'..'", ".."), ("empty", ""), ("blank", "  ")]
    ],
    # missing arguments
    _cli("uploads delete without --email", ["uploads", "delete", "1"], "--email"),
    _cli("uploads delete without IDs", ["uploads", "delete", "--email={email}"], "ID"),
    _cli("elements get without an ID", ["elements", "get"], "ID"),
    _cli("export without OUT_DIR", ["export"], "OUT_DIR"),
    _cli("assets list --page without a value", [*ASSETS_LIST, "--page"], "--page"),
    _cli("--timeout without a value", ["assets", "list", "--timeout"], "--timeout"),
    # unknown commands and options
    _cli("no command", [], "COMMAND"),
    _cli("unknown command", ["frobnicate"], "frobnicate"),
    _cli("assets without an action", ["assets"], "ACTION"),
    _cli("unknown action", ["assets", "frob"], "frob"),
    _cli("uploads get (no such action)", ["uploads", "get", "1"], "get"),
    _cli("unknown option after the command", [*ASSETS_LIST, "--bogus"], "--bogus"),
    _cli("unknown option before the command", ["--bogus", *ASSETS_LIST], "--bogus"),
    _cli("demo takes no --email", ["demo", "{out}", "--email={email}"], "--email"),
    _cli(
        "fake-server takes no --token",
        ["fake-server", "--token=user:1-NotForTheFake"],
        "--token",
    ),
    _cli("a second positional to assets list", [*ASSETS_LIST, "extra"], "extra"),
    # emails
    *[
        _cli(f"assets list --email={label}", ["assets", "list", f"--email={text}"], "email")
        for label, text in [
            ("empty", ""),
            ("blank", "   "),
            ("no @", "no-at-sign"),
            ("with a space", "a b@example.com"),
            ("with a newline", "a@example\n.com"),
            ("with DEL", "a\x7f@example.com"),
        ]
    ],
    _cli("uploads list --email=no @", ["uploads", "list", "--email=no-at-sign"], "email"),
    _cli("uploads delete --email=no @", ["uploads", "delete", "--email=nope", "1"], "email"),
    _cli("uploads delete --email=empty", ["uploads", "delete", "--email=", "1"], "email"),
    _cli("elements get --email=no @", ["elements", "get", "u_1", "--email=nope"], "email"),
    _cli("export --email=no @", ["export", "{out}", "--email=nope"], "email"),
    _cli("export --email=empty", ["export", "{out}", "--email="], "email"),
    _cli("export --email=good --email=bad", [*EXPORT, "--email=a b@example.com"], "email"),
    # token and base URL
    _cli("--token=with a space", ["--token=user:1-Bad Token", *ASSETS_LIST], "token"),
    _cli("--token=empty", ["--token=", *ASSETS_LIST], "token"),
    _cli("--token=non-ASCII", ["--token=user:1-T\u00f6ken", *ASSETS_LIST], "token"),
    _cli("--token=with a control char", ["--token=user:1-Tok\x01en", *ASSETS_LIST], "token"),
    _cli("--base-url=ftp", ["--base-url=ftp://example.com/v1", *ASSETS_LIST], "base_url"),
    _cli("--base-url=not a URL", ["--base-url=not a url", *ASSETS_LIST], "base_url"),
    _cli(
        "--base-url=with a query", ["--base-url=https://h.example/v1?x=1", *ASSETS_LIST], "base_url"
    ),
    _cli(
        "--base-url=with user:pass@",
        [f"--base-url=https://me:{SECRET_PASSWORD}@h.example/v1", *ASSETS_LIST],
        "base_url",
    ),
    _cli(
        "--base-url=port 99999 (asyncio)",
        ["--base-url=http://127.0.0.1:99999/v1/kling", *ASSETS_LIST],
        "base_url",
        "99999",
    ),
    _cli(
        "--base-url=port 99999 (trio)",
        ["--base-url=http://127.0.0.1:99999/v1/kling", "--backend=trio", *ASSETS_LIST],
        "base_url",
        "99999",
    ),
]


def assert_usage_error(run: Run, names: Sequence[str], *secrets: str) -> None:
    """Status 2, nothing on stdout, one error line (after argparse's usage), no traceback."""
    assert run.status == 2, f"status {run.status}; stdout {run.out[:300]!r}; stderr {run.err!r}"
    assert run.out == ""
    assert "Traceback" not in run.err
    lines = run.err.splitlines()
    assert lines, "nothing on stderr"
    if lines[0].startswith("usage:"):
        assert lines[-1].startswith(PROG), lines
        assert ": error: " in lines[-1], lines
    else:
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"{PROG}: error: "), lines
    assert len(run.err) < 2000
    assert any(name in run.err for name in names), f"{run.err!r} names none of {names}"
    for secret in secrets:
        assert secret not in run.out + run.err


@pytest.mark.parametrize(("args", "names"), [*CLI_NUMBER_CASES, *CLI_OTHER_CASES])
def test_the_command_line_refuses(
    fake: FakeKlingServer, kling: Callable[..., Run], args: list[str], names: tuple[str, ...]
) -> None:
    run = kling(*args)
    assert_usage_error(run, names, fake.token, SECRET_PASSWORD, "Bad Token", "T\u00f6ken")
    assert_nothing_sent(fake)


def test_the_command_line_without_a_token_refuses(
    fake: FakeKlingServer, kling: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("USEAPI_TOKEN")
    run = kling("assets", "list", "--email={email}")
    assert_usage_error(run, ["USEAPI_TOKEN"])
    assert_nothing_sent(fake)


def test_the_command_line_never_echoes_a_misspelt_token_option(
    fake: FakeKlingServer, kling: Callable[..., Run]
) -> None:
    secret = "user:777-MisspeltMisspelt"
    run = kling(f"--tokn={secret}", "assets", "list")
    assert_usage_error(run, ["--tokn"], secret, fake.token)
    assert_nothing_sent(fake)
