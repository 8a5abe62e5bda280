"""The export job (`kling_async.export`), on asyncio and trio, against the fake server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio
import httpx2
import orjson
import pytest

from kling_async import (
    AuthenticationError,
    DownloadFileType,
    DownloadInfo,
    ExportLockedError,
    InvalidInputError,
    KlingClient,
    KlingError,
    PaymentRequiredError,
    RetryPolicy,
    Work,
)
from kling_async.export import (
    LOCK_NAME,
    ExportProgress,
    ExportReport,
    ManifestEntry,
    Outcome,
    choose_file_type,
    export_works,
    folder_for,
    verify_export,
)
from kling_async.testing import FakeKlingServer, Fault, expected_file_bytes

NO_WAIT = RetryPolicy(max_retries=2, backoff_initial=0.0, jitter=0.0)

pytestmark = [
    pytest.mark.fake(accounts=2, works_per_account=6, seed=11),
    pytest.mark.client(email=None, retry=NO_WAIT),
]


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
    """Every progress event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.listed = 0
        self.finished: list[Outcome] = []
        self.bytes = 0
        self.started: tuple[list[str | None], int] | None = None
        self.accounts_listed: dict[str | None, tuple[int, bool]] = {}
        self.listing_done: int | None = None
        self.listed_all = anyio.Event()
        self.finished_when_listed: int | None = None
        self.report: ExportReport | None = None

    def export_started(self, out_dir: Path, accounts: Any, already_complete: int) -> None:
        self.started = (list(accounts), already_complete)

    def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
        self.listed += new_works

    def account_listed(self, account: str | None, works: int, complete: bool) -> None:
        assert account not in self.accounts_listed, "one account_listed per account"
        self.accounts_listed[account] = (works, complete)

    def listing_finished(self, works: int) -> None:
        self.listing_done = works
        self.finished_when_listed = len(self.finished)
        self.listed_all.set()

    def bytes_received(self, count: int) -> None:
        self.bytes += count

    def work_finished(self, account: str | None, work_id: int, outcome: Outcome, size: int) -> None:
        self.finished.append(outcome)

    def export_finished(self, report: ExportReport) -> None:
        self.report = report


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

    assert progress.started == (list(fake.emails), work_count(fake) - 1)
    assert progress.listed == progress.listing_done == report.listed == work_count(fake)
    assert progress.finished.count("downloaded") == report.downloaded == 1
    assert progress.finished.count("skipped") == report.skipped == work_count(fake) - 1
    assert progress.bytes == report.bytes_downloaded
    assert progress.report is report
    assert not report.interrupted
    assert progress.accounts_listed == {
        email: (len(fake.data.account(email).work_ids), True) for email in fake.emails
    }
    for email in fake.emails:
        account = report.accounts[email]
        assert account.listed == account.downloaded + account.skipped + account.failed
    assert sum(account.bytes for account in report.accounts.values()) == progress.bytes


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
    progress = Recorder()

    def cdn(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=StalledStream(stalled))

    async with (
        httpx2.AsyncClient(transport=CdnOverride(cdn)) as http,
        client_for(fake, http_client=http) as client,
        anyio.create_task_group() as tg,
    ):

        async def export() -> None:
            await export_works(client, tmp_path, emails=fake.emails[:1], progress=progress)

        tg.start_soon(export)
        await stalled.wait()
        assert files(tmp_path, "*.part")  # a download is half-way
        tg.cancel_scope.cancel()

    assert files(tmp_path) == [tmp_path / LOCK_NAME, tmp_path / "manifest.jsonl"]
    assert progress.report is not None
    assert progress.report.interrupted
    assert not progress.report.ok


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
    assert files(tmp_path) == sorted(
        [tmp_path / LOCK_NAME, tmp_path / "failed.jsonl", tmp_path / "manifest.jsonl"]
    )
    failures = [
        orjson.loads(line) for line in (tmp_path / "failed.jsonl").read_bytes().splitlines()
    ]
    assert sorted(f["work_id"] for f in failures) == sorted(f.work_id for f in report.failed)
    assert all("ended after 5 of 10 bytes" in f["reason"] for f in failures)


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
        client = KlingClient(token="user:1-abc", http_client=http, retry=NO_WAIT, email="a@x")
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
    assert [line["path"] for line in manifest(tmp_path)] == ["a@x/1.mp4"]


@pytest.mark.anyio
async def test_bad_arguments_fail_before_any_request(tmp_path: Path) -> None:
    async with KlingClient(token="user:1-abc", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(InvalidInputError, match="one file type"):
            await export_works(client, tmp_path, file_type=["MP4", "WAV"])  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="concurrency"):
            await export_works(client, tmp_path, concurrency=0)
        with pytest.raises(InvalidInputError, match="content_type"):
            await export_works(client, tmp_path, content_type="gif")
        with pytest.raises(InvalidInputError, match="since"):
            await export_works(client, tmp_path, since="2025-01-01")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="new_only"):
            await export_works(client, tmp_path, new_only=1)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="email is empty"):
            await export_works(client, tmp_path, emails=[""])

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
    page = Fault.body({"history": [{"works": [listed]}]})
    fake.add_faults(page, page, path="/assets", method="GET")  # the token check, then page 1

    async with client_for(fake, email=account.email) as client:
        report = await export_works(client, tmp_path, emails=[account.email], concurrency=1)

    assert report.failed == []
    assert report.downloaded == 1
    [line] = manifest(tmp_path)
    assert line["work_id"] == work_id
    assert line["created_at"] is None
    [file] = files(tmp_path, f"{work_id}.*")
    assert file.read_bytes() == expected_file_bytes(work_id, line["file_type"])


# -- one writer per folder ---------------------------------------------------------------------


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: relative path -> (size, mtime in ns)."""
    return {
        path.relative_to(root).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


class GatedCdn(httpx2.AsyncBaseTransport):
    """Sends everything to the fake server, but holds CDN downloads until ``open`` is set."""

    def __init__(self) -> None:
        self.real = httpx2.AsyncHTTPTransport()
        self.open = anyio.Event()
        self.waiting = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.startswith("/_cdn/"):
            self.waiting.set()
            await self.open.wait()
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.mark.anyio
async def test_a_second_export_into_the_folder_is_refused_and_the_first_completes(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    gate = GatedCdn()
    sent: list[httpx2.Request] = []

    async def record(request: httpx2.Request) -> None:
        sent.append(request)

    async with (
        httpx2.AsyncClient(transport=gate) as http,
        httpx2.AsyncClient(event_hooks={"request": [record]}) as second_http,
        client_for(fake, http_client=http) as first_client,
        client_for(fake, http_client=second_http) as second_client,
        anyio.create_task_group() as tg,
    ):
        reports: list[ExportReport] = []

        async def first() -> None:
            reports.append(await export_works(first_client, tmp_path, emails=fake.emails))

        tg.start_soon(first)
        await gate.waiting.wait()  # the first export holds the folder and is downloading
        before = await anyio.to_thread.run_sync(tree, tmp_path)
        with pytest.raises(ExportLockedError) as refused:
            await export_works(second_client, tmp_path, emails=fake.emails)
        assert await anyio.to_thread.run_sync(tree, tmp_path) == before  # changed nothing
        assert [request.url.path for request in sent] == ["/v1/kling/assets"]  # the token check
        gate.open.set()

    error = refused.value
    assert (error.pid, error.host) == (os.getpid(), os.uname().nodename)
    assert error.started is not None
    assert abs((datetime.now(timezone.utc) - error.started).total_seconds()) < 600
    assert str(os.getpid()) in str(error)
    [report] = reports
    assert report.ok
    assert report.downloaded == work_count(fake)
    assert (await verify_export(tmp_path)).ok


@pytest.mark.anyio
async def test_a_lock_left_by_a_killed_process_is_free(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    script = (
        "import sys, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire();"
        " print('held', flush=True); sys.stdin.read()"
    )
    command = [sys.executable, "-c", script, str(tmp_path / LOCK_NAME)]
    async with await anyio.open_process(command) as holder:
        assert holder.stdout is not None
        said = b""
        while not said.endswith(b"\n"):
            said += await holder.stdout.receive()
        assert said == b"held\n"
        with pytest.raises(ExportLockedError):
            await export_works(client, tmp_path, emails=fake.emails)
        holder.kill()  # SIGKILL: no chance to release anything itself
        await holder.wait()
    report = await export_works(client, tmp_path, emails=fake.emails)
    assert report.ok
    assert report.downloaded == work_count(fake)


# -- nothing untrusted is kept -------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_file_without_a_manifest_line_is_fetched_again_never_adopted(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    await export_works(client, tmp_path, emails=fake.emails)
    lines = manifest(tmp_path)
    victim = lines[0]
    garbage = b"8 bytes!"
    (tmp_path / victim["path"]).write_bytes(garbage)
    (tmp_path / "manifest.jsonl").write_bytes(
        b"".join(orjson.dumps(line) + b"\n" for line in lines[1:])
    )

    report = await export_works(client, tmp_path, emails=fake.emails)

    assert report.downloaded == 1
    assert report.replaced == 1
    assert report.skipped == work_count(fake) - 1
    data = (tmp_path / victim["path"]).read_bytes()
    assert data == expected_file_bytes(victim["work_id"], victim["file_type"])
    assert sorted(manifest(tmp_path), key=lambda line: line["path"]) == sorted(
        lines, key=lambda line: line["path"]
    )
    assert (await verify_export(tmp_path)).ok


@pytest.mark.anyio
async def test_a_file_whose_size_differs_from_its_line_is_fetched_again(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    await export_works(client, tmp_path, emails=fake.emails)
    victim = manifest(tmp_path)[2]
    path = tmp_path / victim["path"]
    path.write_bytes(path.read_bytes()[:-7])  # truncated

    report = await export_works(client, tmp_path, emails=fake.emails)

    assert (report.downloaded, report.replaced, report.already_complete) == (
        1,
        1,
        work_count(fake) - 1,
    )
    assert path.read_bytes() == expected_file_bytes(victim["work_id"], victim["file_type"])
    assert (await verify_export(tmp_path)).ok


@pytest.mark.anyio
async def test_verify_finds_a_flipped_byte_that_the_size_check_cannot(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    await export_works(client, tmp_path, emails=fake.emails)
    victim = manifest(tmp_path)[1]
    path = tmp_path / victim["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    unverified = await export_works(client, tmp_path, emails=fake.emails)
    assert unverified.downloaded == 0  # same size: trusted without verify
    checked = await verify_export(tmp_path)
    assert checked.changed == [victim["path"]]
    assert not checked.ok

    verified = await export_works(client, tmp_path, emails=fake.emails, verify=True)
    assert (verified.downloaded, verified.replaced) == (1, 1)
    assert path.read_bytes() == expected_file_bytes(victim["work_id"], victim["file_type"])
    assert (await verify_export(tmp_path)).ok


@pytest.mark.anyio
async def test_verify_export_reports_missing_and_unexpected_files_and_writes_nothing(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    await export_works(client, tmp_path, emails=fake.emails)
    clean = await verify_export(tmp_path)
    assert clean.ok
    assert clean.checked == work_count(fake)

    missing = manifest(tmp_path)[0]["path"]
    (tmp_path / missing).unlink()
    stray = f"{folder_for(fake.emails[0])}/notes.txt"
    (tmp_path / stray).write_text("mine")
    with (tmp_path / "manifest.jsonl").open("ab") as file:
        file.write(b"not json\n")
    before = await anyio.to_thread.run_sync(tree, tmp_path)

    report = await verify_export(tmp_path)

    assert await anyio.to_thread.run_sync(tree, tmp_path) == before
    assert report.missing == [missing]
    assert report.unexpected == [stray]
    assert report.changed == []
    assert report.bad_lines
    assert not report.ok
    assert report.to_dict()["missing"] == [missing]
    with pytest.raises(InvalidInputError, match="no manifest"):
        await verify_export(tmp_path / "elsewhere")


# -- accounts, failing early ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_without_emails_every_account_of_the_subscription_is_exported(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    assert client.email is None
    report = await export_works(client, tmp_path)

    assert report.ok
    assert list(report.accounts) == list(fake.emails)
    assert folders(tmp_path) == sorted(folder_for(email) for email in fake.emails)
    assert report.downloaded == work_count(fake)
    assert fake.requests[0].api_path == "/accounts"


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 402])
@pytest.mark.parametrize("named", [True, False])
async def test_a_refused_first_call_leaves_no_folder_behind(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path, status: int, named: bool
) -> None:
    fake.add_faults(Fault.status(status))
    out = tmp_path / "never"
    expected = AuthenticationError if status == 401 else PaymentRequiredError
    with pytest.raises(expected):
        await export_works(client, out, emails=fake.emails if named else None)
    assert not out.exists()
    assert len(fake.requests) == 1


@pytest.mark.anyio
async def test_a_wrong_token_leaves_no_folder_behind(fake: FakeKlingServer, tmp_path: Path) -> None:
    out = tmp_path / "never"
    async with KlingClient("user:1-wrong", base_url=fake.base_url, retry=NO_WAIT) as client:
        with pytest.raises(AuthenticationError):
            await export_works(client, out, emails=fake.emails)
    assert not out.exists()


# -- incremental runs and dry runs ---------------------------------------------------------------


def listing_requests(fake: FakeKlingServer) -> int:
    return sum(1 for r in fake.requests if r.api_path == "/assets" and r.method == "GET")


@pytest.mark.anyio
@pytest.mark.fake(accounts=2, works_per_account=120, seed=5)
async def test_new_only_stops_each_account_at_its_first_page_already_exported(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    await export_works(client, tmp_path, emails=fake.emails, page_size=5)
    full_listing = listing_requests(fake)
    fake.reset_stats()

    report = await export_works(
        client, tmp_path, emails=fake.emails, page_size=5, new_only=True, concurrency=4
    )

    assert report.ok
    assert report.downloaded == 0
    # The token check, then per account page 1 (all exported: stop) and the pages already
    # requested: the window of 4, refilled once as page 1 is handed over; against every page
    # of every account without new_only.
    assert listing_requests(fake) <= 1 + 2 * (4 + 1)
    assert full_listing >= 2 * 20
    assert all(account.listing_complete for account in report.accounts.values())


@pytest.mark.anyio
@pytest.mark.fake(accounts=1, works_per_account=60, seed=9)
async def test_since_exports_only_works_created_at_or_after_it(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    works = [work async for work in client.assets.iter_works(email=fake.emails[0], page_size=40)]
    times = sorted({work.create_time for work in works if work.create_time}, reverse=True)
    cut = times[len(times) // 3]
    since = datetime.fromtimestamp(cut / 1000, tz=timezone.utc)
    wanted = {work.work_id for work in works if (work.create_time or 0) >= cut}
    fake.reset_stats()

    report = await export_works(client, tmp_path, emails=fake.emails, since=since, page_size=5)

    assert report.ok
    assert {line["work_id"] for line in manifest(tmp_path)} == wanted
    assert report.listed == len(wanted)
    # Listings come newest first: it stops soon after the cut instead of listing every page.
    assert listing_requests(fake) < 1 + len(works) // 5


@pytest.mark.anyio
async def test_a_dry_run_reports_what_would_be_fetched_and_writes_nothing(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    out = tmp_path / "dry"
    report = await export_works(client, out, emails=fake.emails, dry_run=True)

    assert not out.exists()
    assert report.dry_run
    assert report.downloaded == 0
    assert sum(report.planned.values()) == work_count(fake)
    for email in fake.emails:
        assert sum(report.accounts[email].planned.values()) == len(
            fake.data.account(email).work_ids
        )
    assert not any(r.api_path == "/assets/download" for r in fake.requests)

    await export_works(client, out, emails=fake.emails)
    (out / manifest(out)[0]["path"]).unlink()
    before = await anyio.to_thread.run_sync(tree, out)
    again = await export_works(client, out, emails=fake.emails, dry_run=True)
    assert await anyio.to_thread.run_sync(tree, out) == before
    assert sum(again.planned.values()) == 1
    assert again.skipped == work_count(fake) - 1


# -- listing runs ahead; failures kept ------------------------------------------------------------


@pytest.mark.anyio
async def test_the_listing_runs_ahead_of_the_downloads(
    fake: FakeKlingServer, tmp_path: Path
) -> None:
    gate = GatedCdn()
    progress = Recorder()
    async with (
        httpx2.AsyncClient(transport=gate) as http,
        client_for(fake, http_client=http) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(
            lambda: export_works(
                client, tmp_path, emails=fake.emails, concurrency=2, page_size=2, progress=progress
            )
        )
        await gate.waiting.wait()
        with anyio.fail_after(10):
            await progress.listed_all.wait()  # the listing completes with downloads held
        assert progress.finished_when_listed == 0
        assert progress.listing_done == work_count(fake)
        gate.open.set()
    assert progress.report is not None
    assert progress.report.downloaded == work_count(fake)


@pytest.mark.anyio
async def test_failed_jsonl_is_rewritten_by_every_run(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    fake.add_faults(*[Fault.status(404)] * 2, path="/assets/download")
    first = await export_works(client, tmp_path, emails=fake.emails, concurrency=1)
    lines = (tmp_path / "failed.jsonl").read_bytes().splitlines()
    assert len(lines) == len(first.failed) == 2
    assert {orjson.loads(line)["work_id"] for line in lines} == {f.work_id for f in first.failed}
    assert not first.ok

    second = await export_works(client, tmp_path, emails=fake.emails)
    assert second.ok
    assert second.downloaded == 2
    assert not (tmp_path / "failed.jsonl").exists()
    assert (await verify_export(tmp_path)).ok


@pytest.mark.anyio
async def test_a_token_check_that_fails_otherwise_does_not_stop_the_export(
    fake: FakeKlingServer, client: KlingClient, tmp_path: Path
) -> None:
    fake.add_faults(Fault.status(596), path="/assets", method="GET")  # the token check gets it
    report = await export_works(client, tmp_path, emails=fake.emails)
    assert report.ok
    assert report.downloaded == work_count(fake)
