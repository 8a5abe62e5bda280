"""KlingClient against the fake useapi server over real loopback HTTP, on asyncio and trio."""

from __future__ import annotations

import logging

import anyio
import httpx2
import pytest

from kling_async import (
    DEFAULT_BASE_URL,
    AssetsPage,
    ContentType,
    DeleteResult,
    DownloadResult,
    Element,
    FileType,
    InvalidInputError,
    KlingClient,
    NotFoundError,
    UploadsPage,
)
from kling_async.testing import FAST_RETRY, FakeKlingServer, Fault, RecordedRequest

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(
        accounts=2, works_per_account=30, uploads_per_account=25, elements_per_account=3, seed=7
    ),
]


def anyio_backend_http(client: KlingClient) -> str:
    """Which transport the client sends through: "aiohttp" or "httpx2"."""
    transport = type(client._http._transport)  # type: ignore[attr-defined]
    modules = [cls.__module__ for cls in transport.__mro__]
    return "aiohttp" if any("aiohttp" in module for module in modules) else "httpx2"


def api_requests(fake: FakeKlingServer) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.startswith("/v1/kling")]


# -- construction and configuration --------------------------------------------------------


async def test_missing_token_is_a_clear_error_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    with pytest.raises(InvalidInputError, match="USEAPI_TOKEN"):
        KlingClient()


async def test_token_and_base_url_default_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake: FakeKlingServer
) -> None:
    monkeypatch.setenv("USEAPI_TOKEN", fake.token)
    monkeypatch.setenv("USEAPI_BASE_URL", fake.base_url)
    async with KlingClient(email=fake.emails[0]) as client:
        page = await client.assets.list(page_size=5)
    assert len(page.history) == 5


async def test_base_url_defaults_to_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)
    async with KlingClient(token="user:1-abc") as client:
        assert client.base_url == DEFAULT_BASE_URL == "https://api.useapi.net/v1/kling"


@pytest.mark.parametrize("suffix", ["", "/", "//"])
async def test_base_url_works_with_or_without_trailing_slash(
    fake: FakeKlingServer, suffix: str
) -> None:
    async with KlingClient(
        token=fake.token, email=fake.emails[0], base_url=fake.base_url + suffix
    ) as client:
        element_id = fake.data.accounts[0].elements[0].id
        element = await client.elements.get(element_id)
    assert element.id == element_id
    assert api_requests(fake)[-1].path == f"/v1/kling/elements/{element_id}"


@pytest.mark.parametrize("url", ["ftp://x/v1/kling", "not a url", "https://x/v1?q=1", "/v1/kling"])
async def test_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidInputError, match="base_url"):
        KlingClient(token="user:1-abc", base_url=url)


@pytest.mark.parametrize("token", ["", "   ", "user:1 abc", "user:1-abc\nX-Evil: 1", 123])
async def test_malformed_token_is_refused_without_echoing_it(token: object) -> None:
    with pytest.raises(InvalidInputError) as info:
        KlingClient(token=token)  # type: ignore[arg-type]
    if isinstance(token, str) and token.strip():
        assert token not in str(info.value)


@pytest.mark.parametrize("value", [0, -1, "5", True])
async def test_bad_timeout_is_refused(value: object) -> None:
    with pytest.raises(InvalidInputError, match="timeout"):
        KlingClient(token="user:1-abc", timeout=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [-1, 1.5, True])
async def test_bad_max_retries_is_refused(value: object) -> None:
    with pytest.raises(InvalidInputError, match="max_retries"):
        KlingClient(token="user:1-abc", max_retries=value)  # type: ignore[arg-type]


async def test_repr_and_str_never_show_the_token(fake: FakeKlingServer) -> None:
    client = KlingClient(token=fake.token, base_url=fake.base_url)
    try:
        secret = fake.token.split(":", 1)[1]
        for text in (repr(client), str(client), repr(client.assets), repr(client._headers)):
            assert secret not in text
        assert "KlingClient(" in repr(client)
    finally:
        await client.aclose()


# -- the endpoints ---------------------------------------------------------------------------


async def test_assets_list_decodes_a_page(client: KlingClient, fake: FakeKlingServer) -> None:
    page = await client.assets.list(page_num=1, page_size=4)
    assert isinstance(page, AssetsPage)
    assert len(page.history) == 4
    assert page.works
    assert all(w.work_id is not None for w in page.works)
    sent = api_requests(fake)[-1]
    assert sent.method == "GET"
    assert sent.path == "/v1/kling/assets"
    assert sent.query == {"email": fake.emails[0], "pageNum": "1", "pageSize": "4"}


async def test_assets_list_sends_content_type_and_sort(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    page = await client.assets.list(
        page_num=2, page_size=3, content_type=ContentType.IMAGE, sort="asc"
    )
    assert all(w.content_type == "image" for w in page.works)
    assert api_requests(fake)[-1].query == {
        "email": fake.emails[0],
        "pageNum": "2",
        "pageSize": "3",
        "contentType": "image",
        "sort": "asc",
    }


async def test_iter_works_yields_every_work_once_in_order(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    everything = [w.work_id async for w in client.assets.iter_works(page_size=7)]
    expected = [w.work_id for w in (await client.assets.list(page_size=1000)).works]
    assert everything == expected
    assert len(everything) == len(set(everything)) == len(fake.data.accounts[0].work_ids)


async def test_iter_works_stops_on_the_short_page_without_asking_further(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    tasks = len(fake.data.accounts[0].tasks)
    fake.reset_stats()
    _ = [w async for w in client.assets.iter_works(page_size=tasks - 1)]
    pages = [r.query["pageNum"] for r in api_requests(fake)]
    assert pages == ["1", "2"]


async def test_iter_works_asks_for_the_empty_page_after_an_exact_multiple(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    tasks = len(fake.data.accounts[0].tasks)
    fake.reset_stats()
    works = [w async for w in client.assets.iter_works(page_size=tasks)]
    assert len(works) == len(fake.data.accounts[0].work_ids)
    assert [r.query["pageNum"] for r in api_requests(fake)] == ["1", "2"]


async def test_iter_pages_skips_the_empty_last_page(client: KlingClient) -> None:
    pages = [p async for p in client.assets.iter_pages(page_size=5)]
    assert pages
    assert all(p.history for p in pages)


async def test_download_returns_a_url_the_server_serves(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    task = next(t for t in fake.data.accounts[0].tasks if "MP4" in t.file_types)
    work_id = task.first_work_id
    result = await client.assets.download([work_id], file_types=[FileType.MP4])
    assert isinstance(result, DownloadResult)
    assert result.status == "success"
    assert api_requests(fake)[-1].query == {
        "email": fake.emails[0],
        "workIds": str(work_id),
        "fileTypes": "MP4",
    }
    async with httpx2.AsyncClient() as plain:
        body = (await plain.get(result.cdn_url)).content
    assert body == fake.expected_file_bytes(work_id, "MP4")


async def test_download_joins_ids_and_file_types_with_commas(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    ids = [t.first_work_id for t in fake.data.accounts[0].tasks[:3]]
    await client.assets.download([str(i) for i in ids], file_types=["mp4", "Png", FileType.MP4])
    query = api_requests(fake)[-1].query
    assert query["workIds"] == ",".join(str(i) for i in ids)
    assert query["fileTypes"] == "MP4,PNG"


async def test_uploads_list_and_iter_assets(client: KlingClient, fake: FakeKlingServer) -> None:
    page = await client.uploads.list(page_size=10)
    assert isinstance(page, UploadsPage)
    assert len(page.upload_assets_list) == 10
    assert api_requests(fake)[-1].path == "/v1/kling/assets/uploaded"
    ids = [a.id async for a in client.uploads.iter_assets(page_size=10)]
    assert len(ids) == len(set(ids)) == 25


async def test_uploads_list_sends_file_name_filter(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    name = fake.data.accounts[0].uploads[0].name
    page = await client.uploads.list(file_name=name[:6], content_type="VIDEO")
    assert api_requests(fake)[-1].query["fileName"] == name[:6]
    assert api_requests(fake)[-1].query["contentType"] == "video"
    assert all(name[:6] in a.name for a in page.upload_assets_list)


async def test_uploads_delete_removes_the_files(client: KlingClient, fake: FakeKlingServer) -> None:
    ids = [a.id async for a in client.uploads.iter_assets()][:3]
    result = await client.uploads.delete(ids)
    assert isinstance(result, DeleteResult)
    assert result.deleted == 3
    assert set(result.ids) == set(ids)
    sent = api_requests(fake)[-1]
    assert sent.method == "DELETE"
    assert sent.query == {"email": fake.emails[0], "id": ",".join(ids)}
    remaining = {a.id async for a in client.uploads.iter_assets()}
    assert remaining.isdisjoint(ids)


async def test_uploads_delete_needs_an_email(fake: FakeKlingServer) -> None:
    async with KlingClient(token=fake.token, base_url=fake.base_url) as client:
        with pytest.raises(InvalidInputError, match="email"):
            await client.uploads.delete(["1"])
    assert api_requests(fake) == []


async def test_elements_get(client: KlingClient, fake: FakeKlingServer) -> None:
    element_id = fake.data.accounts[0].elements[0].id
    element = await client.elements.get(element_id)
    assert isinstance(element, Element)
    assert element.id == element_id
    assert element.resources


# -- email and encoding ----------------------------------------------------------------------


async def test_call_email_wins_over_client_email(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    await client.assets.list(page_size=1, email=fake.emails[1])
    assert api_requests(fake)[-1].query["email"] == fake.emails[1]


async def test_no_email_at_all_sends_no_email_parameter(fake: FakeKlingServer) -> None:
    async with FakeKlingServer(accounts=1, works_per_account=3) as single:
        async with KlingClient(token=single.token, base_url=single.base_url) as client:
            page = await client.assets.list()
        assert page.works
        assert "email" not in single.requests[-1].query


async def test_blank_email_is_bad_input_before_any_request(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    with pytest.raises(InvalidInputError, match="email"):
        await client.assets.list(email="  ")
    assert api_requests(fake) == []


async def test_query_values_are_url_encoded(client: KlingClient, fake: FakeKlingServer) -> None:
    tricky = "a+b&pageSize=1@x.com"
    with pytest.raises(NotFoundError):  # no such account: only what the server saw matters
        await client.assets.list(email=tricky, page_size=3)
    sent = api_requests(fake)[-1]
    assert sent.query["email"] == tricky
    assert sent.query["pageSize"] == "3"


@pytest.mark.parametrize(
    ("element_id", "raw_path"),
    [
        ("a/b", "/v1/kling/elements/a%2Fb"),
        ("../assets", "/v1/kling/elements/..%2Fassets"),
        ("x?email=y#z", "/v1/kling/elements/x%3Femail%3Dy%23z"),
    ],
)
async def test_element_id_stays_one_path_segment(
    client: KlingClient, fake: FakeKlingServer, element_id: str, raw_path: str
) -> None:
    with pytest.raises(NotFoundError):  # no such element: only what the server saw matters
        await client.elements.get(element_id)
    sent = api_requests(fake)[-1]
    assert sent.raw_path is not None
    if anyio_backend_http(client) == "aiohttp":  # yarl writes '=' as is: still one segment
        assert sent.raw_path.split("/") == raw_path.replace("%3D", "=").split("/")
    else:
        assert sent.raw_path == raw_path
    assert sent.query == {"email": fake.emails[0]}


# -- bad input: refused before any request ---------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.assets.list(page_num=0),
        lambda c: c.assets.list(page_size=0),
        lambda c: c.assets.list(content_type="gif"),
        lambda c: c.assets.list(sort="up"),
        lambda c: c.assets.download([]),
        lambda c: c.assets.download(["12x"]),
        lambda c: c.assets.download([-5]),
        lambda c: c.assets.download([1], file_types=["MOV"]),
        lambda c: c.uploads.list(page_num=-1),
        lambda c: c.uploads.delete([str(n) for n in range(11)]),
        lambda c: c.uploads.delete([]),
        lambda c: c.elements.get(".."),
        lambda c: c.elements.get(""),
    ],
)
async def test_bad_input_raises_value_error_and_sends_nothing(
    client: KlingClient, fake: FakeKlingServer, call: object
) -> None:
    with pytest.raises(ValueError) as info:  # noqa: PT011 - the message is checked below
        await call(client)  # type: ignore[operator]
    assert isinstance(info.value, InvalidInputError)
    assert str(info.value)
    assert api_requests(fake) == []


async def test_iterators_refuse_bad_input_when_called(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    with pytest.raises(InvalidInputError, match="page_size"):
        client.assets.iter_works(page_size=0)
    with pytest.raises(InvalidInputError, match="content_type"):
        client.uploads.iter_assets(content_type="doc")
    assert api_requests(fake) == []


# -- options, pools, logging -----------------------------------------------------------------


async def test_with_options_shares_the_pool_and_changes_only_what_it_names(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    other = client.with_options(email=fake.emails[1], max_retries=0)
    assert other._http is client._http
    assert other.email == fake.emails[1]
    assert other.retry.max_retries == 0
    assert client.retry.max_retries == FAST_RETRY.max_retries
    assert client.email == fake.emails[0]
    await other.assets.list(page_size=1)
    assert api_requests(fake)[-1].query["email"] == fake.emails[1]
    await other.aclose()  # does not close the shared pool
    page = await client.assets.list(page_size=1)
    assert page.history


async def test_caller_http_client_is_used_as_is_and_left_open(fake: FakeKlingServer) -> None:
    async with httpx2.AsyncClient(
        base_url="http://127.0.0.1:9/wrong", headers={"Authorization": "Bearer wrong"}
    ) as http_client:
        async with KlingClient(
            token=fake.token, email=fake.emails[0], base_url=fake.base_url, http_client=http_client
        ) as client:
            page = await client.assets.list(page_size=2)
        assert len(page.history) == 2
        assert not http_client.is_closed
        assert api_requests(fake)[-1].headers["authorization"] == f"Bearer {fake.token}"


async def test_sends_its_own_headers(client: KlingClient, fake: FakeKlingServer) -> None:
    await client.assets.list(page_size=1)
    headers = api_requests(fake)[-1].headers
    assert headers["authorization"] == f"Bearer {fake.token}"
    assert headers["accept"] == "application/json"
    assert headers["user-agent"].startswith("kling-async/")


async def test_debug_log_shows_method_url_status_attempt_and_time_but_no_token(
    client: KlingClient, fake: FakeKlingServer, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_faults(Fault.status(503), path="/assets")
    with caplog.at_level(logging.DEBUG):
        await client.assets.list(page_size=1)
    ours = [r.getMessage() for r in caplog.records if r.name == "kling_async"]
    assert any(
        "GET" in m and "/assets?" in m and "-> 503" in m and "attempt 1/3" in m for m in ours
    )
    assert any("-> 200" in m and "attempt 2/3" in m and " ms)" in m for m in ours)
    assert any(m.startswith("retrying GET") for m in ours)
    secret = fake.token.split(":", 1)[1]
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_a_closed_client_refuses_requests(fake: FakeKlingServer) -> None:
    client = KlingClient(token=fake.token, email=fake.emails[0], base_url=fake.base_url)
    await client.aclose()
    with pytest.raises(RuntimeError):
        await client.assets.list()


async def test_concurrent_calls_share_one_client(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    results: list[int] = []

    async def one(n: int) -> None:
        page = await client.assets.list(page_num=n, page_size=2)
        results.append(len(page.history))

    async with anyio.create_task_group() as tg:
        for n in range(1, 9):
            tg.start_soon(one, n)
    assert len(results) == 8
    assert len(api_requests(fake)) == 8


async def test_settings_are_readable(client: KlingClient, fake: FakeKlingServer) -> None:
    assert client.timeout == httpx2.Timeout(60.0, connect=5.0)
    assert client.max_connections == 100
    assert client.retry == FAST_RETRY
    assert client.with_options(timeout=None).timeout == httpx2.Timeout(None)
    assert client.with_options(timeout=2.5).timeout == httpx2.Timeout(2.5)


async def test_pool_size_of_a_caller_client_is_read_when_its_transport_exposes_it(
    fake: FakeKlingServer,
) -> None:
    limits = httpx2.Limits(max_connections=7)
    async with httpx2.AsyncClient(limits=limits) as http_client:
        client = KlingClient(token=fake.token, base_url=fake.base_url, http_client=http_client)
        assert client.max_connections == 7
    async with httpx2.AsyncClient(
        transport=httpx2.MockTransport(lambda r: httpx2.Response(200))
    ) as mocked:
        assert KlingClient(token="user:1-a", http_client=mocked).max_connections is None


async def test_uploads_iter_pages_yields_pages_in_order(
    client: KlingClient, fake: FakeKlingServer
) -> None:
    pages = [p async for p in client.uploads.iter_pages(page_size=10)]
    assert [len(p.upload_assets_list) for p in pages] == [10, 10, 5]
    assert [r.query["pageNum"] for r in api_requests(fake)] == ["1", "2", "3"]
