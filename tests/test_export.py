"""The export job under the CLI (`kling_async._export`), on asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import orjson
import pytest

from kling_async import (
    DownloadFileType,
    DownloadInfo,
    InvalidInputError,
    KlingClient,
    KlingError,
    RetryPolicy,
    Work,
)
from kling_async._export import (
    ExportProgress,
    ManifestEntry,
    Outcome,
    choose_file_type,
    export_works,
    folder_for,
)
from kling_async.testing import FakeKlingServer, Fault, expected_file_bytes

NO_WAIT = RetryPolicy(max_retries=2, backoff_initial=0.0, jitter=0.0)


@pytest.fixture
async def fake() -> AsyncIterator[FakeKlingServer]:
    async with FakeKlingServer(accounts=2, works_per_account=6, seed=11) as server:
        yield server


class CdnOverride(httpx2.AsyncBaseTransport):
    """Sends API calls to the fake server and answers its CDN's requests with ``cdn``."""

    def __init__(self, cdn: Callable[[httpx2.Request], httpx2.Response]) -> None:
        self.real = httpx2.AsyncHTTPTransport()
        self.cdn = httpx2.MockTransport(cdn)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.startswith("/_cdn/"):
            return await self.cdn.handle_async_request(request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


def client_for(fake: FakeKlingServer, **kwargs: Any) -> KlingClient:
    return KlingClient(token=fake.token, base_url=fake.base_url, retry=NO_WAIT, **kwargs)


def manifest(out: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (out / "manifest.jsonl").read_bytes().splitlines()]


def files(root: Path, pattern: str = "*") -> list[Path]:
    """The files under ``root`` matching ``pattern`` (a plain function: tests may block)."""
    return sorted(path for path in root.rglob(pattern) if path.is_file())


def folders(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir() if path.is_dir())


def work_count(fake: FakeKlingServer) -> int:
    return sum(len(account.work_ids) for account in fake.data)


class Recorder(ExportProgress):
    def __init__(self) -> None:
        self.listed = 0
        self.finished: list[Outcome] = []
        self.bytes = 0
        self.accounts = 0
        self.listing_done: int | None = None

    def listing_started(self, accounts: int) -> None:
        self.accounts = accounts

    def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
        self.listed += new_works

    def listing_finished(self, works: int) -> None:
        self.listing_done = works

    def bytes_received(self, count: int) -> None:
        self.bytes += count

    def work_finished(self, work_id: int | None, outcome: Outcome) -> None:
        self.finished.append(outcome)


@pytest.mark.anyio
async def test_cdn_downloads_never_carry_the_api_token(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    sent: list[httpx2.Request] = []

    async def record(request: httpx2.Request) -> None:
        sent.append(request)

    async with (
        httpx2.AsyncClient(event_hooks={"request": [record]}) as http,
        client_for(fake, http_client=http) as client,
    ):
        report = await export_works(client, tmp_path, emails=fake.emails)

    assert report.ok
    cdn = [request for request in sent if request.url.path.startswith("/_cdn/")]
    api = [request for request in sent if request.url.path.startswith("/v1/kling/")]
    assert len(cdn) == work_count(fake)
    assert all("authorization" not in request.headers for request in cdn)
    assert all(request.headers["authorization"] == f"Bearer {fake.token}" for request in api)


@pytest.mark.anyio
async def test_transient_cdn_failures_are_retried(fake: FakeKlingServer, tmp_path: Path) -> None:
    fake.add_faults(Fault.status(503), Fault.drop(), path="/_cdn/works/")
    progress = Recorder()

    async with client_for(fake) as client:
        report = await export_works(client, tmp_path, emails=fake.emails, progress=progress)

    assert report.ok
    assert report.downloaded == work_count(fake)
    cdn = [request for request in fake.requests if request.path.startswith("/_cdn/")]
    assert len(cdn) == work_count(fake) + 2
    assert progress.bytes == report.bytes_downloaded
    assert report.bytes_downloaded == sum(line["bytes"] for line in manifest(tmp_path))


@pytest.mark.anyio
async def test_a_cut_download_leaves_neither_a_final_nor_a_part_file(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    fake.add_faults(Fault.drop(path="/_cdn/works/"))

    async with client_for(fake, max_retries=0) as client:
        report = await export_works(client, tmp_path, emails=fake.emails, concurrency=1)

    # httpx2's transport calls a cut body RemoteProtocolError; aiohttp's (mapped) ReadError.
    [reason] = [failure.reason.split(":")[0] for failure in report.failed]
    assert reason in ("RemoteProtocolError on GET http", "ReadError on GET http")
    (failed,) = report.failed
    assert files(tmp_path, f"*{failed.work_id}*") == []
    assert report.downloaded == work_count(fake) - 1


@pytest.mark.anyio
async def test_progress_events_add_up_to_the_report(fake: FakeKlingServer, tmp_path: Path) -> None:
    progress = Recorder()
    async with client_for(fake) as client:
        await export_works(client, tmp_path, emails=fake.emails)
        (tmp_path / manifest(tmp_path)[0]["path"]).unlink()
        report = await export_works(client, tmp_path, emails=fake.emails, progress=progress)

    assert progress.accounts == 2
    assert progress.listed == progress.listing_done == report.listed == work_count(fake)
    assert progress.finished.count("downloaded") == report.downloaded == 1
    assert progress.finished.count("skipped") == report.skipped == work_count(fake) - 1
    assert progress.bytes == report.bytes_downloaded


@pytest.mark.anyio
async def test_the_default_account_goes_to_the_default_folder(tmp_path: Path) -> None:
    async with FakeKlingServer(accounts=1, works_per_account=3, seed=2) as fake:
        async with client_for(fake) as client:
            report = await export_works(client, tmp_path)
        work_ids = fake.data.accounts[0].work_ids

    assert report.ok
    lines = manifest(tmp_path)
    assert {line["account"] for line in lines} == {None}
    assert sorted(line["work_id"] for line in lines) == sorted(work_ids)
    assert all(line["path"].startswith("default/") for line in lines)


@pytest.mark.anyio
async def test_the_client_email_names_the_folder(fake: FakeKlingServer, tmp_path: Path) -> None:
    email = fake.emails[1]
    async with client_for(fake, email=email.upper()) as client:
        report = await export_works(client, tmp_path)

    assert report.ok
    assert folders(tmp_path) == [email]


class StalledStream(httpx2.AsyncByteStream):
    """A body that sends one chunk, then never another: a download stuck half-way."""

    def __init__(self, stalled: anyio.Event) -> None:
        self.stalled = stalled

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"x" * 1000
        self.stalled.set()
        await anyio.sleep_forever()


@pytest.mark.anyio
async def test_a_cancelled_export_leaves_no_part_file(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    stalled = anyio.Event()

    def cdn(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=StalledStream(stalled))

    async with (
        httpx2.AsyncClient(transport=CdnOverride(cdn)) as http,
        client_for(fake, http_client=http) as client,
        anyio.create_task_group() as tg,
    ):

        async def export() -> None:
            await export_works(client, tmp_path, emails=fake.emails[:1])

        tg.start_soon(export)
        await stalled.wait()
        assert files(tmp_path, "*.part")  # a download is half-way
        tg.cancel_scope.cancel()

    assert files(tmp_path) == [tmp_path / "manifest.jsonl"]


@pytest.mark.anyio
async def test_a_body_shorter_than_promised_fails_the_work(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    def cdn(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=b"short", headers={"Content-Length": "10"})

    async with (
        httpx2.AsyncClient(transport=CdnOverride(cdn)) as http,
        client_for(fake, max_retries=0, http_client=http) as client,
    ):
        report = await export_works(client, tmp_path, emails=fake.emails)

    assert len(report.failed) == work_count(fake)
    assert "ended after 5 of 10 bytes" in report.failed[0].reason
    assert files(tmp_path) == [tmp_path / "manifest.jsonl"]


@pytest.mark.anyio
async def test_files_match_the_cdn_and_a_repeat_export_changes_nothing(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    async with client_for(fake) as client:
        first = await export_works(client, tmp_path, emails=fake.emails, concurrency=3)
        before = (tmp_path / "manifest.jsonl").read_bytes()
        second = await export_works(client, tmp_path, emails=fake.emails, concurrency=3)

    assert first.downloaded == second.skipped == work_count(fake)
    assert (tmp_path / "manifest.jsonl").read_bytes() == before
    for line in manifest(tmp_path):
        data = (tmp_path / line["path"]).read_bytes()
        assert data == expected_file_bytes(line["work_id"], line["file_type"])


# -- choosing the file type, folders, manifest lines ---------------------------------------------


def offering(*kinds: str, content_type: str | None = "video") -> Work:
    info = DownloadInfo(tuple(DownloadFileType(kind, True) for kind in kinds)) if kinds else None
    return Work(work_id=1, task_id=1, content_type=content_type, download_info=info)


@pytest.mark.parametrize(
    ("work", "wanted", "chosen"),
    [
        (offering("MP4", "MP3", "WAV"), None, "MP4"),
        (offering("PNG", content_type="image"), None, "PNG"),
        (offering("MP3", "WAV", content_type="audio"), None, "MP3"),
        (offering("WAV", content_type="audio"), None, "WAV"),
        (offering(content_type="image"), None, "PNG"),
        (offering("MP4", content_type=None), None, "MP4"),
        (offering("MP4", "WAV"), "WAV", "WAV"),
        (offering(content_type=None), "MP3", "MP3"),
        (offering("MP4"), "PNG", None),
    ],
)
def test_choose_file_type(work: Work, wanted: str | None, chosen: str | None) -> None:
    from kling_async import FileType

    result = choose_file_type(work, FileType(wanted) if wanted else None)

    assert (result.value if result else None) == chosen


def test_a_work_of_unknown_kind_cannot_be_exported() -> None:
    with pytest.raises(KlingError, match="cannot tell which file"):
        choose_file_type(offering(content_type="hologram"), None)


@pytest.mark.parametrize(
    ("account", "folder"),
    [
        (None, "default"),
        ("Me@Example.com", "me@example.com"),
        ("../../evil@x.com", ".._.._evil@x.com"),
        ("a/b\\c@x.com", "a_b_c@x.com"),
    ],
)
def test_folder_for(account: str | None, folder: str) -> None:
    assert folder_for(account) == folder


@pytest.mark.parametrize(
    "line",
    [b"", b"not json", b"[1, 2]", b'{"work_id": 1}', b'{"account": null, "work_id": "1", '
     b'"content_type": null, "file_type": "MP4", "prompt": null, "created_at": null, '
     b'"path": "a/1.mp4", "bytes": 1, "sha256": "00"}'],
)  # fmt: skip
def test_manifest_entry_rejects_malformed_lines(line: bytes) -> None:
    assert ManifestEntry.from_json(line) is None


def test_manifest_entry_round_trips() -> None:
    entry = ManifestEntry(None, 7, "image", "PNG", "a cat", None, "default/7.png", 3, "ab")

    assert ManifestEntry.from_json(entry.to_json()) == entry


def api_work(work_id: int | None) -> dict[str, Any]:
    work: dict[str, Any] = {"taskId": 77, "contentType": "video", "createTime": 1_746_000_000_000}
    if work_id is not None:
        work["workId"] = work_id
    return work


CDN_URLS = {
    "1": "http://cdn.test/1.mp4",
    "3": "ftp://cdn.test/3.mp4",
    "4": "http://[::1/4.mp4",
    "5": "http://cdn.test/5.mp4",
}


def odd_api(request: httpx2.Request) -> httpx2.Response:
    """Two pages (the second repeats work 1), a third with a work without its ID, then answers
    that only some works survive."""
    if request.url.path.endswith("/assets"):
        pages = {
            "1": [api_work(1)],
            "2": [api_work(1), api_work(2), api_work(3), api_work(4), api_work(5)],
            "3": [api_work(None)],
        }
        works = pages.get(request.url.params["pageNum"])
        return httpx2.Response(200, json={"history": [{"works": works}] if works else []})
    url = CDN_URLS.get(request.url.params["workIds"])
    return httpx2.Response(200, json={"cdnUrl": url or "", "status": "processing"})


def odd_cdn(request: httpx2.Request) -> httpx2.Response:
    if request.url.path == "/5.mp4":
        raise httpx2.ReadTimeout("too slow", request=request)
    return httpx2.Response(200, content=b"video bytes")


def odd_answers(request: httpx2.Request) -> httpx2.Response:
    return odd_cdn(request) if request.url.host == "cdn.test" else odd_api(request)


@pytest.mark.anyio
async def test_odd_answers_fail_only_their_own_work(tmp_path: Path) -> None:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(odd_answers)) as http:
        client = KlingClient(token="user:1-abc", http_client=http, retry=NO_WAIT)
        report = await export_works(client, tmp_path, page_size=1)

    assert report.listed == 5
    assert report.downloaded == 1
    [listing] = report.listing_failures
    assert listing.page_num == 3
    assert "at $.history[0].works[0].workId, missing" in listing.reason
    reasons = {failure.work_id: failure.reason for failure in report.failed}
    assert reasons == {
        2: "GET /assets/download gave an empty cdnUrl (status 'processing')",
        3: reasons[3],
        4: reasons[4],
        5: "ReadTimeout on GET http://cdn.test/5.mp4",
    }
    assert reasons[3] == "cannot download ftp://cdn.test/3.mp4: not an http(s) URL"
    assert reasons[4].startswith("cannot download the file URL: not a URL")
    assert [line["path"] for line in manifest(tmp_path)] == ["default/1.mp4"]


@pytest.mark.anyio
async def test_bad_arguments_fail_before_any_request(tmp_path: Path) -> None:
    async with KlingClient(token="user:1-abc", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(InvalidInputError, match="one file type"):
            await export_works(client, tmp_path, file_type=["MP4", "WAV"])  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="concurrency"):
            await export_works(client, tmp_path, concurrency=0)
        with pytest.raises(InvalidInputError, match="content_type"):
            await export_works(client, tmp_path, content_type="gif")

    assert files(tmp_path) == []


@pytest.mark.anyio
async def test_a_work_with_an_out_of_range_timestamp_is_exported_with_a_manifest_line(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    account = fake.data.accounts[0]
    task = account.tasks[0]
    work_id = task.work_ids[0]
    listed = {
        "workId": work_id,
        "taskId": task.task_id,
        "contentType": task.content_type,
        "createTime": 10**17,
    }
    fake.add_faults(Fault.body({"history": [{"works": [listed]}]}), path="/assets", method="GET")

    async with client_for(fake, email=account.email) as client:
        report = await export_works(client, tmp_path, emails=[account.email], concurrency=1)

    assert report.failed == []
    assert report.downloaded == 1
    [line] = manifest(tmp_path)
    assert line["work_id"] == work_id
    assert line["created_at"] is None
    [file] = files(tmp_path, f"{work_id}.*")
    assert file.read_bytes() == expected_file_bytes(work_id, line["file_type"])
