"""The HTTP layer: httpx2 underneath, a caller's encode/httpx client, the aiohttp transport,
and file downloads through the same send path as API calls (CDNError for a missing file)."""

from __future__ import annotations

import ast
import logging
import math
import sys
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx  # encode/httpx 0.28: what applications that have not moved yet hand the SDK
import httpx2
import pytest

import kling_async
from kling_async import (
    APIConnectionError,
    APITimeoutError,
    CDNError,
    ClientClosedError,
    InvalidInputError,
    KlingClient,
    KlingError,
    NotFoundError,
    RateLimitError,
)
from kling_async.export import export_works
from kling_async.testing import FAST_RETRY, FakeKlingServer, Fault, expected_file_bytes

pytestmark = [pytest.mark.anyio, pytest.mark.fake(accounts=1, works_per_account=6, seed=4)]

PACKAGE = Path(kling_async.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_one_module_imports_the_http_library() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if imported_modules(path) & {"httpx", "httpx2", "httpcore", "httpcore2"}
    )
    assert importers == ["_http.py"]


# -- a caller's client from encode/httpx 0.28 ------------------------------------------------


async def test_a_legacy_httpx_client_sends_the_calls(fake: FakeKlingServer) -> None:
    async with (
        httpx.AsyncClient(headers={"X-App": "old"}) as http,
        KlingClient(
            token=fake.token, email=fake.emails[0], base_url=fake.base_url, http_client=http
        ) as client,
    ):
        page = await client.assets.list(page_size=2)
        assert not http.is_closed
    assert len(page.history) == 2
    [sent] = fake.requests
    assert sent.headers["authorization"] == f"Bearer {fake.token}"
    assert "x-app" not in sent.headers


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(404), NotFoundError),
        (Fault.drop(), APIConnectionError),
        (Fault.corrupt_gzip(), APIConnectionError),
        (Fault.hang(), APITimeoutError),
    ],
)
async def test_a_legacy_httpx_clients_failures_are_the_sdks_errors(
    fake: FakeKlingServer, fault: Fault, error: type[Exception]
) -> None:
    fake.add_faults(*[fault] * 3)
    async with (
        httpx.AsyncClient() as http,
        KlingClient(
            token=fake.token,
            email=fake.emails[0],
            base_url=fake.base_url,
            http_client=http,
            retry=FAST_RETRY,
            timeout=0.3,
        ) as client,
    ):
        with pytest.raises(error) as info:
            await client.assets.list(page_num=2)
    assert info.value.page_num == 2  # type: ignore[attr-defined]
    secret = fake.token.split(":", 1)[1]
    request = info.value.request  # type: ignore[attr-defined]
    assert isinstance(request, httpx2.Request)  # the error carries the SDK's own types
    assert secret not in repr(list(request.headers.raw))
    cause = info.value.__cause__
    if isinstance(cause, httpx.RequestError):
        assert secret not in repr(list(cause.request.headers.raw))


async def test_an_export_through_a_legacy_httpx_client(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    async with (
        httpx.AsyncClient() as http,
        KlingClient(token=fake.token, base_url=fake.base_url, http_client=http) as client,
    ):
        report = await export_works(client, tmp_path, emails=fake.emails)
    assert report.ok
    assert report.downloaded == len(fake.data.accounts[0].work_ids)
    cdn = [r for r in fake.requests if r.path.startswith("/_cdn/")]
    assert cdn
    assert all("authorization" not in r.headers for r in cdn)


# -- downloads share the send path; a missing file is not a missing work ------------------------


async def test_a_missing_cdn_file_is_a_cdn_error_not_a_missing_work(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    fake.set_fault_rate(1.0, [Fault.status(404)], path="/_cdn/")
    async with KlingClient(token=fake.token, base_url=fake.base_url, retry=FAST_RETRY) as client:
        work_id = fake.data.accounts[0].work_ids[0]
        result = await client.assets.download([work_id], file_types=["MP4"])
        assert result.cdn_url is not None

        async def receive(response: httpx2.Response) -> bytes:
            raise AssertionError("a 404 is not handed on")  # pragma: no cover

        with pytest.raises(CDNError) as info:
            await client._fetch_file(result.cdn_url, receive)
    assert not isinstance(info.value, NotFoundError)
    assert info.value.status_code == 404
    assert str(info.value).startswith("404 Not Found from the CDN")
    assert "?" not in str(info.value)  # signed query parameters stay out of messages


async def test_cdn_server_errors_are_retried_like_the_apis(
    fake: FakeKlingServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_faults(Fault.status(503), Fault.status(502), path="/_cdn/")
    async with KlingClient(token=fake.token, base_url=fake.base_url, retry=FAST_RETRY) as client:
        with caplog.at_level(logging.INFO, logger="kling_async"):
            report = await export_works(client, tmp_path, emails=fake.emails, concurrency=1)
    assert report.ok
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 2
    assert all("/_cdn/" in line and "?" not in line for line in retries)
    work_id = fake.data.accounts[0].work_ids[0]
    [entry] = [p for p in tmp_path.rglob(f"{work_id}.*") if p.is_file()]  # noqa: ASYNC240
    assert entry.read_bytes() == expected_file_bytes(work_id, entry.suffix[1:].upper())


# -- the aiohttp transport -----------------------------------------------------------------------


async def test_aiohttp_is_refused_on_trio_and_works_on_asyncio(
    fake: FakeKlingServer, anyio_backend: str
) -> None:
    if anyio_backend == "trio":
        with pytest.raises(InvalidInputError, match="asyncio only"):
            KlingClient(token=fake.token, base_url=fake.base_url, http="aiohttp")
        return
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url, http="aiohttp"
    ) as client:
        page = await client.assets.list(page_size=2)
    assert len(page.history) == 2
    assert fake.requests[0].headers["authorization"] == f"Bearer {fake.token}"


def test_an_aiohttp_client_made_outside_a_loop_refuses_to_run_on_trio() -> None:
    client = KlingClient(token="user:1-abc", base_url="http://127.0.0.1:9/v1/kling", http="aiohttp")

    async def call() -> None:
        with pytest.raises(KlingError, match="asyncio only"):
            await client.assets.list()
        await client.aclose()

    anyio.run(call, backend="trio")


def test_an_unknown_transport_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="httpx2' or 'aiohttp"):
        KlingClient(token="user:1-abc", http="requests")  # type: ignore[arg-type]


def test_aiohttp_without_its_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx_aiohttp.httpx2", None)
    with pytest.raises(InvalidInputError, match=r"kling-async\[aiohttp\]"):
        KlingClient(token="user:1-abc", http="aiohttp")


async def test_a_malformed_http_response_is_a_retried_connection_error_on_every_transport(
    anyio_backend: str,
) -> None:
    served = 0

    async def answer_garbage(stream: anyio.abc.SocketStream) -> None:
        nonlocal served
        async with stream:
            await stream.receive()
            served += 1
            await stream.send(b"HTTP/1.1 abc Broken\r\nX-Bad header\r\n\r\n")

    token = "user:123-Secret123Secret"
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, answer_garbage)
            async with KlingClient(
                token=token, base_url=f"http://127.0.0.1:{port}/v1/kling", retry=FAST_RETRY
            ) as client:
                with pytest.raises(APIConnectionError) as info:
                    await client.assets.list()
            tg.cancel_scope.cancel()
    assert served == FAST_RETRY.max_retries + 1
    error: BaseException | None = info.value
    while error is not None:  # nothing chained to it carries the token
        assert "Secret123Secret" not in repr(vars(error)) + repr(getattr(error, "request", ""))
        request = getattr(error, "request", None)
        if isinstance(request, httpx2.Request):
            assert "Secret123Secret" not in repr(list(request.headers.raw))
        error = error.__cause__ or error.__context__


def test_encode_httpx_timeout_and_limits_are_taken() -> None:
    client = KlingClient(
        token="user:1-abc",
        timeout=httpx.Timeout(3.0, connect=1.0),
        limits=httpx.Limits(max_connections=5),
    )
    assert isinstance(client.timeout, httpx2.Timeout)
    assert (client.timeout.read, client.timeout.connect) == (3.0, 1.0)
    assert client.max_connections == 5


async def test_a_call_waiting_for_a_slot_when_the_client_closes_says_it_is_closed(
    fake: FakeKlingServer,
) -> None:
    fake.add_faults(Fault.hang())
    client = KlingClient(
        token=fake.token,
        email=fake.emails[0],
        base_url=fake.base_url,
        limits=httpx2.Limits(max_connections=1),
        max_retries=0,
    )
    outcomes: list[BaseException] = []

    async def call() -> None:
        try:
            await client.assets.list()
        except Exception as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)  # holds the one slot, on a request that hangs
        await fake.wait_in_flight(1)
        tg.start_soon(call)  # waits for the slot
        while client._pool_slots.statistics().tasks_waiting < 1:
            await anyio.lowlevel.checkpoint()
        await client.aclose()
    assert any(isinstance(outcome, ClientClosedError) for outcome in outcomes)
    assert all(isinstance(outcome, KlingError) for outcome in outcomes)


# -- a deadline bounds a whole call, retries and waits included -----------------------------------


async def test_a_deadline_does_not_wait_for_a_retry_it_cannot_finish(
    fake: FakeKlingServer,
) -> None:
    fake.add_faults(Fault.status(429), Fault.status(429))  # no Retry-After: a 10 s wait each
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url, deadline=5
    ) as client:
        assert client.retry.rate_limit_wait == 10.0
        with anyio.fail_after(30):  # a hang guard only: without the deadline this takes 20 s
            with pytest.raises(RateLimitError):
                await client.assets.list()
    assert len(fake.requests) == 1  # the first 429 is raised at once: its wait ends too late


async def test_a_deadline_cuts_a_call_that_hangs_and_frees_its_connection(
    fake: FakeKlingServer,
) -> None:
    fake.add_faults(Fault.hang())
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url, timeout=None
    ) as client:
        with (
            anyio.fail_after(30),
            pytest.raises(APITimeoutError, match=r"deadline of 0\.3 s") as info,
        ):
            await client.with_options(deadline=0.3).assets.list(page_num=3)
        assert info.value.page_num == 3
        await fake.wait_idle()
        assert client._pool_slots.borrowed_tokens == 0
        page = await client.assets.list(page_size=1)  # the client is fine afterwards
    assert len(page.history) == 1


async def test_a_deadline_does_not_bound_file_downloads(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    ready = anyio.Event()

    async def hold_downloads(request: httpx2.Request) -> None:
        if request.url.path.startswith("/_cdn/"):
            await ready.wait()

    async with (
        httpx2.AsyncClient(event_hooks={"request": [hold_downloads]}) as http,
        KlingClient(
            token=fake.token, base_url=fake.base_url, http_client=http, deadline=1.0
        ) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(_release_later, ready)
        report = await export_works(client, tmp_path, emails=fake.emails, concurrency=1)
    assert report.ok
    assert report.downloaded == len(fake.data.accounts[0].work_ids)


async def _release_later(ready: anyio.Event) -> None:
    await anyio.sleep(1.5)  # longer than the deadline: downloads must not be cut by it
    ready.set()


@pytest.mark.parametrize(
    "deadline", [0, -1, math.nan, math.inf, "5", True, pytest.param(10**5000, id="huge")]
)
def test_a_bad_deadline_is_invalid_input(deadline: object) -> None:
    with pytest.raises(InvalidInputError, match="deadline"):
        KlingClient(token="user:1-abc", deadline=deadline)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="deadline"):
        KlingClient(token="user:1-abc").with_options(deadline=deadline)  # type: ignore[arg-type]
