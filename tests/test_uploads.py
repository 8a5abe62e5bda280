"""client.uploads.create (POST /assets) and batch.upload, against the fake server."""

from __future__ import annotations

import itertools
import os
import traceback
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from kling_async import (
    UPLOAD_LIMITS,
    APIConnectionError,
    APIError,
    BatchError,
    InvalidInputError,
    KlingClient,
    OperationFailedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UploadFile,
    UploadResult,
    batch,
)
from kling_async.testing import FakeKlingServer, Fault
from kling_async.testing._data import UploadRecord
from tests.conftest import HeldClient

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(accounts=1, works_per_account=5, uploads_per_account=5, seed=3),
]

MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def stored(fake: FakeKlingServer) -> list[UploadRecord]:
    """What the fake kept from POST /assets, oldest first."""
    return list(fake.data.accounts[0].added_uploads)


def posts(fake: FakeKlingServer) -> list[Any]:
    return [r for r in fake.requests if r.method == "POST" and r.api_path == "/assets"]


def write(path: Path, size: int) -> Path:
    """A file of ``size`` bytes (sparse: made at once, whatever its size)."""
    with path.open("wb") as file:
        file.write(PNG[: min(size, len(PNG))])
        file.truncate(size)
    return path


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class Broken(Exception):
    """What a caller's stream raises in these tests."""


# -- sources and types ----------------------------------------------------------------------


@pytest.mark.parametrize("as_path", [str, Path], ids=["str", "Path"])
async def test_a_path_is_sent_raw_with_the_type_its_name_says_and_its_length(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path, as_path: Any
) -> None:
    fake, client = fake_and_client
    path = write(tmp_path / "Cat.PNG", 5_000)

    result = await client.uploads.create(as_path(path))

    assert result == UploadResult(status=3, url=result.url, message="", file_name=result.file_name)
    assert result.ok
    assert result.file_name is not None
    assert result.file_name.endswith(".png")
    (request,) = posts(fake)
    assert request.headers["content-type"] == "image/png"
    assert request.headers["content-length"] == "5000"
    assert "transfer-encoding" not in request.headers
    assert request.email == fake.emails[0]
    assert [(u.name, u.content_type, u.size) for u in stored(fake)] == [
        (result.file_name, "image", 5_000)
    ]


async def test_bytes_are_sent_with_the_given_type_or_the_one_a_name_says(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client

    video = await client.uploads.create(b"v" * 4_000, content_type="video/mp4")
    image = await client.uploads.create(PNG, file_name="photo.jpeg")

    assert video.status == 1
    assert video.resource_url is not None
    assert video.cover_url is not None
    assert image.status == 3
    assert [r.headers["content-type"] for r in posts(fake)] == ["video/mp4", "image/jpeg"]
    assert [(u.content_type, u.size) for u in stored(fake)] == [
        ("video", 4_000),
        ("image", len(PNG)),
    ]


async def test_a_stream_is_sent_with_its_announced_size_as_content_length(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client

    result = await client.uploads.create(
        chunks(b"a" * 1_000, b"", b"b" * 2_000, b"c"), size=3_001, file_name="voice.mp3"
    )

    assert result.ok
    (request,) = posts(fake)
    assert request.headers["content-type"] == "audio/mpeg"
    assert request.headers["content-length"] == "3001"
    assert "transfer-encoding" not in request.headers
    assert [(u.content_type, u.size) for u in stored(fake)] == [("audio", 3_001)]


async def test_the_given_type_wins_over_the_name_and_other_spellings_are_sent_as_accepted(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path
) -> None:
    fake, client = fake_and_client
    await client.uploads.create(write(tmp_path / "clip.bin", 3_000), content_type="video/quicktime")
    await client.uploads.create(PNG, content_type=" Image/PNG; charset=binary ")
    await client.uploads.create(b"w" * 100, content_type="audio/x-wav")
    await client.uploads.create(b"m" * 100, file_name="song.M4A")

    assert [r.headers["content-type"] for r in posts(fake)] == [
        "video/quicktime",
        "image/png",
        "audio/wav",
        "audio/mp4",
    ]


@pytest.mark.parametrize(
    ("source", "options", "message"),
    [
        (b"x", {}, "no content type: pass content_type="),
        (b"x", {"content_type": "image/gif"}, "'image/gif' is not one POST /assets takes"),
        (b"x", {"content_type": 7}, "content_type must be a MIME type string"),
        (b"x", {"file_name": "notes.txt"}, "does not take .txt files"),
        (b"x", {"file_name": "README"}, "a name without an extension"),
        (b"x", {"file_name": " "}, "file_name must be a non-blank string"),
        (b"", {"content_type": "image/png"}, "the data is empty"),
        (b"x", {"content_type": "image/png", "size": 1}, "size= is for streams"),
        (b"x" * (10 * MB + 1), {"content_type": "image/jpeg"}, "up to 10 MB (10,485,760 bytes)"),
        (b"x" * (20 * MB + 1), {"file_name": "a.flac"}, "audio/flac files of up to 20 MB"),
        (12345, {"content_type": "image/png"}, "not int"),
        ("", {}, "the path is empty"),
        (b"x", {"content_type": "image/png", "email": "nobody"}, "is not an email address"),
    ],
    ids=itertools.count(),
)
async def test_bad_input_is_refused_before_anything_is_sent(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
    source: Any,
    options: dict[str, Any],
    message: str,
) -> None:
    fake, client = fake_and_client

    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await client.uploads.create(source, **options)

    assert fake.requests == []


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("big.png", 10 * MB + 1, "is 10,485,761 bytes .10.0 MB.; POST /assets takes image/png"),
        ("big.mov", 100 * MB + 1, "video/quicktime files of up to 100 MB"),
        ("empty.mp4", 0, "is empty"),
        ("doc.pdf", 10, "does not take .pdf files .application/pdf."),
    ],
)
async def test_a_file_of_the_wrong_type_or_size_is_refused_before_anything_is_sent(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
    tmp_path: Path,
    name: str,
    size: int,
    message: str,
) -> None:
    fake, client = fake_and_client
    path = write(tmp_path / name, size)

    with pytest.raises(InvalidInputError, match=message):
        await client.uploads.create(path)

    assert fake.requests == []


async def test_a_missing_file_a_folder_a_pipe_and_a_size_for_a_path_are_refused(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path
) -> None:
    fake, client = fake_and_client
    (tmp_path / "folder.png").mkdir()
    os.mkfifo(tmp_path / "pipe.mp4")

    with pytest.raises(InvalidInputError, match=r"missing\.png': cannot read it"):
        await client.uploads.create(tmp_path / "missing.png")
    with pytest.raises(InvalidInputError, match=r"folder\.png' is not a regular file"):
        await client.uploads.create(tmp_path / "folder.png")
    # A pipe is refused without being opened (opening it would wait for a writer).
    with pytest.raises(InvalidInputError, match=r"pipe\.mp4' is not a regular file"):
        await client.uploads.create(tmp_path / "pipe.mp4")
    with pytest.raises(InvalidInputError, match="size= is for streams"):
        await client.uploads.create(write(tmp_path / "a.png", 10), size=10)

    assert fake.requests == []


async def test_a_stream_needs_its_size_and_one_over_the_limit_is_never_read(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    read = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal read
        read += 1
        yield b"x"

    with pytest.raises(InvalidInputError, match="a stream needs size="):
        await client.uploads.create(stream(), content_type="audio/ogg")
    with pytest.raises(InvalidInputError, match="size must be an int"):
        await client.uploads.create(stream(), content_type="audio/ogg", size=1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="audio/ogg files of up to 20 MB"):
        await client.uploads.create(stream(), content_type="audio/ogg", size=20 * MB + 1)

    assert read == 0
    assert fake.requests == []


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ((b"ab", b"cd", b"e"), "gave more than the size=4 bytes announced"),
        ((b"abcd", b"e"), "gave more than the size=4 bytes announced"),
        ((b"ab", b"c"), "ended after 3 bytes; size= announced 4"),
        ((b"ab", "cd"), "yielded a str, not bytes"),
    ],
)
async def test_a_stream_that_breaks_its_size_is_cut_off_and_nothing_is_stored(
    fake_and_client: tuple[FakeKlingServer, KlingClient], parts: tuple[Any, ...], message: str
) -> None:
    fake, client = fake_and_client

    with pytest.raises(InvalidInputError, match=message):
        await client.uploads.create(chunks(*parts), size=4, content_type="image/png")

    await fake.wait_idle()
    assert len(posts(fake)) <= 1  # sent once at most: it may be cut off before it arrives
    assert stored(fake) == []


@pytest.mark.parametrize(("change", "message"), [("grow", "grew"), ("shrink", "shrank")])
async def test_a_file_that_changes_while_it_is_sent_is_cut_off_and_nothing_is_stored(
    fake: FakeKlingServer, tmp_path: Path, change: str, message: str
) -> None:
    path = write(tmp_path / "clip.mp4", 600_000)

    async def change_the_file(request: httpx2.Request) -> None:
        # Runs after the size was announced, before the body is read.
        with path.open("r+b") as file:
            file.truncate(700_000 if change == "grow" else 300_000)

    async with (
        httpx2.AsyncClient(event_hooks={"request": [change_the_file]}) as http,
        fake.client(http_client=http) as client,
    ):
        with pytest.raises(
            InvalidInputError, match=rf"clip\.mp4' {message} while it was uploaded \(600,000 bytes"
        ):
            await client.uploads.create(path)

    await fake.wait_idle()
    assert len(posts(fake)) <= 1  # sent once at most: it may be cut off before it arrives
    assert stored(fake) == []


async def test_what_a_stream_raises_ends_the_call_as_it_is(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    problem = Broken("the source went away")

    async def stream() -> AsyncIterator[bytes]:
        yield b"x" * 1_000
        raise problem

    with pytest.raises(Broken) as caught:
        await client.uploads.create(stream(), size=2_000, content_type="image/png")

    assert caught.value is problem
    # Its traceback goes from the call to the stream, past no frame of the HTTP library
    # (their locals hold the request as sent, token included).
    files = [frame.filename for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert any(file.endswith("test_uploads.py") for file in files)
    assert not [f for f in files if any(lib in f for lib in ("httpcore", "h11", "aiohttp"))]
    await fake.wait_idle()
    assert len(posts(fake)) <= 1  # sent once at most: it may be cut off before it arrives
    assert stored(fake) == []


# -- what the service answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"status": 0, "url": "", "message": "File format not recognised"}, "File format"),
        ({"status": 2, "message": ""}, "no message"),
        ({}, r"no message \(status None\)"),
    ],
)
async def test_a_200_that_reports_failure_raises_and_is_not_sent_again(
    fake_and_client: tuple[FakeKlingServer, KlingClient], body: dict[str, Any], said: str
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.body(body), Fault.body(body), path="/assets", method="POST")

    with pytest.raises(OperationFailedError, match=f"the upload failed: {said}") as caught:
        await client.uploads.create(PNG, content_type="image/png")

    error = caught.value
    assert error.body == body
    assert error.response.status_code == 200
    assert error.email == fake.emails[0]
    assert "(POST http://127.0.0.1:" in str(error)
    assert len(posts(fake)) == 1


async def test_a_200_that_does_not_fit_the_model_is_a_validation_error(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.body({"status": "3", "url": 1}), path="/assets", method="POST")

    with pytest.raises(ResponseValidationError) as caught:
        await client.uploads.create(PNG, content_type="image/png")

    assert caught.value.path == "$.status"
    assert len(posts(fake)) == 1


async def test_an_upload_is_then_listed_first_by_get_assets_uploaded(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path
) -> None:
    _, client = fake_and_client
    before = await client.uploads.list()

    first = await client.uploads.create(write(tmp_path / "a.png", 2_000))
    second = await client.uploads.create(b"s" * 3_000, content_type="audio/aac")

    page = await client.uploads.list()
    assert [a.name for a in page.assets] == [
        second.file_name,
        first.file_name,
        *[a.name for a in before.assets],
    ]
    assert [a.content_type for a in page.assets[:2]] == ["audio", "image"]
    assert page.assets[0].create_time is not None
    assert page.assets[1].create_time is not None
    assert page.assets[0].create_time > page.assets[1].create_time
    assert page.assets[1].resource is not None
    assert page.assets[1].resource.resource == first.url
    found = await client.uploads.list(file_name=first.file_name)
    assert [a.name for a in found.assets] == [first.file_name]
    images = await client.uploads.list(content_type="image", page_size=1)
    assert [a.name for a in images.assets] == [first.file_name]


# -- retries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429])
async def test_an_upload_turned_away_unread_is_sent_again_read_from_the_start(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path, status: int
) -> None:
    fake, client = fake_and_client
    path = write(tmp_path / "clip.mp4", 900_000)
    fake.add_faults(Fault.status(status), path="/assets", method="POST")

    result = await client.uploads.create(path)

    assert result.ok
    assert [r.status for r in posts(fake)] == [status, 200]
    assert [u.size for u in stored(fake)] == [900_000]


async def test_bytes_turned_away_with_429_are_sent_again(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(Fault.status(429), Fault.status(429), path="/assets", method="POST")

    result = await client.uploads.create(PNG, content_type="image/png")

    assert result.ok
    assert [r.status for r in posts(fake)] == [429, 429, 200]
    assert [u.size for u in stored(fake)] == [len(PNG)]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(500), ServerError),
        (Fault.status(503), ServerError),
        (Fault.drop(), APIConnectionError),
        (Fault.truncated(), APIConnectionError),
        (Fault.hang(), APIConnectionError),
    ],
    ids=["500", "503", "drop", "truncated", "hang"],
)
@pytest.mark.client(timeout=0.5)
async def test_an_upload_that_may_have_reached_the_service_is_not_sent_again(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
    tmp_path: Path,
    fault: Fault,
    error: type[APIError],
) -> None:
    fake, client = fake_and_client
    fake.add_faults(fault, fault, fault, path="/assets", method="POST")

    with pytest.raises(error):
        await client.uploads.create(write(tmp_path / "a.jpg", 4_000))

    assert len(posts(fake)) == 1
    # A truncated answer came after the service stored the file: a retry would store it twice.
    assert len(stored(fake)) == (1 if fault.kind == "truncated" else 0)


async def test_a_stream_is_not_sent_again_once_it_was_read(
    fake: FakeKlingServer,
) -> None:
    fake.add_faults(Fault.status(429), path="/assets", method="POST")
    # httpx2's transport sends the whole body before it reads the answer: the 429 comes after
    # the stream was read, always.
    async with fake.client(http="httpx2") as client:
        with pytest.raises(RateLimitError):
            await client.uploads.create(chunks(b"a" * 500), size=500, content_type="audio/aac")

    assert len(posts(fake)) == 1
    assert stored(fake) == []


class RefusedFirst(httpx2.AsyncBaseTransport):
    """Refuses the first ``count`` connections, then sends for real."""

    def __init__(self, count: int) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.refusals = count

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.refusals:
            self.refusals -= 1
            raise httpx2.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("source", ["path", "bytes", "stream"])
async def test_an_upload_that_could_not_connect_is_sent_again_whole(
    fake: FakeKlingServer, tmp_path: Path, source: str
) -> None:
    path = write(tmp_path / "a.png", 3_000)
    sources: dict[str, Any] = {
        "path": (path, {}),
        "bytes": (path.read_bytes(), {"content_type": "image/png"}),
        "stream": (chunks(path.read_bytes()), {"content_type": "image/png", "size": 3_000}),
    }
    upload, options = sources[source]
    async with (
        httpx2.AsyncClient(transport=RefusedFirst(2)) as http,
        fake.client(http_client=http) as client,
    ):
        result = await client.uploads.create(upload, **options)

    assert result.ok
    assert len(posts(fake)) == 1
    assert [u.size for u in stored(fake)] == [3_000]


async def test_an_upload_that_never_connects_fails_after_the_policys_tries(
    fake: FakeKlingServer,
) -> None:
    async with (
        httpx2.AsyncClient(transport=RefusedFirst(10)) as http,
        fake.client(http_client=http) as client,
    ):
        with pytest.raises(APIConnectionError, match="connection refused"):
            await client.uploads.create(PNG, content_type="image/png")

    assert fake.requests == []


# -- a large file -------------------------------------------------------------------------------


async def test_a_100_mb_file_streams_from_disk_in_little_memory(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path
) -> None:
    fake, client = fake_and_client
    size = UPLOAD_LIMITS["video/mp4"]  # 100 MB: the largest video the service takes
    path = write(tmp_path / "long.mp4", size)

    # Both ends run in this process: the peak covers the client and the fake server.
    tracemalloc.start()
    try:
        result = await client.uploads.create(path, timeout=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.ok
    assert [u.size for u in stored(fake)] == [size]
    assert peak < 20 * MB, f"peak {peak / MB:.1f} MB for a {size // MB} MB file"
    os.remove(path)


# -- batch.upload -------------------------------------------------------------------------------


async def test_batch_upload_gives_every_source_one_outcome_in_order(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path
) -> None:
    fake, client = fake_and_client
    sources: list[Any] = [
        write(tmp_path / "a.png", 1_000),
        str(write(tmp_path / "b.mp4", 2_000)),
        tmp_path / "notes.txt",  # refused before sending
        UploadFile(b"c" * 3_000, content_type="audio/mpeg"),
        UploadFile(chunks(b"d" * 4_000), file_name="d.jpg", size=4_000),
        b"e" * 10,  # bytes without a type: refused before sending
        write(tmp_path / "a.png", 1_000),  # the same file again: a second upload
    ]
    # One upload at a time, in input order: the first meets a 429 and is sent again (a delay
    # of 0 lets that try through), the second meets a 500 and is not.
    faults = [Fault.status(429), Fault.delay(0), Fault.status(500)]
    fake.add_faults(*faults, path="/assets", method="POST")

    result = await batch.upload(client, sources, concurrency=1)

    assert result.ids == tuple(range(len(sources)))
    assert all(len(chunk.ids) == 1 for chunk in result.chunks)
    assert result.failed_ids == (1, 2, 5)
    assert result.succeeded_ids == (0, 3, 4, 6)
    assert set(result.failed_ids).isdisjoint(result.succeeded_ids)
    failed = {chunk.ids[0]: chunk.error for chunk in result.failed}
    assert isinstance(failed[1], ServerError)
    assert isinstance(failed[2], InvalidInputError)
    assert isinstance(failed[5], InvalidInputError)
    results = result.results
    assert [r is None for r in results] == [False, True, True, False, False, True, False]
    assert [u.name for u in stored(fake)] == [r.file_name for r in results if r is not None]
    assert [u.size for u in stored(fake)] == [1_000, 3_000, 4_000, 1_000]
    assert len(posts(fake)) == 6  # a 429 and a retry for the first, one each for the others
    with pytest.raises(BatchError, match=r"3 of 7 uploads failed \(sources at 1, 2, 5\)") as caught:
        result.raise_for_errors()
    assert caught.value.failed_ids == (1, 2, 5)
    assert caught.value.errors == tuple(failed.values())


async def test_batch_upload_of_sources_that_all_succeed_returns_itself_from_raise_for_errors(
    fake_and_client: tuple[FakeKlingServer, KlingClient], tmp_path: Path
) -> None:
    fake, client = fake_and_client

    result = await batch.upload(client, write(tmp_path / "one.png", 500))

    assert result.raise_for_errors() is result
    assert result.ok
    assert result.succeeded_ids == (0,)
    assert len(stored(fake)) == 1


async def test_batch_upload_runs_uploads_concurrently(
    fake: FakeKlingServer, held_client: HeldClient
) -> None:
    files = [UploadFile(PNG, content_type="image/png") for _ in range(6)]
    # The first 3 requests wait until 3 wait at once: getting past them shows 3 in flight.
    async with held_client(fake, 3, email=fake.emails[0]) as client:
        with anyio.fail_after(10):
            result = await batch.upload(client, files, concurrency=3)

    assert result.ok
    assert len(stored(fake)) == 6


async def test_batch_upload_paces_its_starts(
    fake_and_client: tuple[FakeKlingServer, KlingClient], pacer_starts: list[float]
) -> None:
    _, client = fake_and_client
    files = [UploadFile(PNG, content_type="image/png") for _ in range(4)]

    result = await batch.upload(client, files, concurrency=4, max_per_second=40)

    assert result.ok
    assert len(pacer_starts) == 4
    assert all(b - a >= (1 / 40) * (1 - 1e-9) for a, b in itertools.pairwise(pacer_starts))


@pytest.mark.parametrize(
    ("sources", "options", "message"),
    [
        ([], {}, "sources is empty"),
        (42, {}, "sources must be paths, bytes or UploadFile objects"),
        ({"a.png": 1}, {}, "not dict"),
        ([PNG], {"concurrency": 0}, "concurrency must be from 1"),
        ([PNG], {"max_per_second": 0}, "max_per_second must be a positive"),
        ([PNG], {"email": "not-an-email"}, "is not an email address"),
    ],
)
async def test_batch_upload_checks_its_arguments_before_any_request(
    fake_and_client: tuple[FakeKlingServer, KlingClient],
    sources: Any,
    options: dict[str, Any],
    message: str,
) -> None:
    fake, client = fake_and_client

    with pytest.raises(InvalidInputError, match=message):
        await batch.upload(client, sources, **options)

    assert fake.requests == []
