"""The export job behind ``kling-async export`` and ``kling-async demo``: every work, to disk.

`export_works` lists the works of one or more accounts (`kling_async.batch.iter_pages`, pages
of all accounts in flight at once), and for each work gets a watermark-free URL from
GET /assets/download and streams the file into ``OUT_DIR/<account>/<workId>.<ext>``, with one
line per file in ``OUT_DIR/manifest.jsonl``.

Download URLs: one GET /assets/download per work, with exactly one file type. Only that form
gives the file itself; several IDs or file types give a .zip that would have to be unpacked
(and held whole) before anything could be hashed or named. The call is made by the same task
that then streams the file: a fixed set of ``concurrency`` worker tasks, fed by a bounded
memory stream straight from the listing. So downloads start while later pages are still
being listed, every URL is used moments after it was issued (CDN URLs can expire), a failure
belongs to exactly one work, and at most ``concurrency`` works are in progress at any time.
`kling_async.batch.download` with ``chunk_size=1`` would make the same calls, but would fetch
every URL first and only then let the downloads begin.

The file type of a work: the caller's ``file_type`` when given (a work whose ``downloadInfo``
does not offer it is skipped, and counted as such); else the type its content type suggests
(video: MP4, image: PNG, audio: MP3) when the work offers it; else the first type in its
``downloadInfo``.

Downloads from the CDN go through the client's one send path (its pool, logging and
`RetryPolicy`, with the timeouts of `CDN_TIMEOUT`; transient failures such as connection
errors, 408, 429 and 5xx are retried),
never with the API token, and a non-2xx answer is a `CDNError`. Each file is streamed in
chunks to ``.<workId>.<ext>.part`` in its final folder, hashed (SHA-256) while it streams,
flushed to disk and renamed to its final name only when complete, so a final name never
holds a partial file.

Resuming: a rerun into the same folder reads the manifest first (keeping, once each, the
lines whose file is still there with the recorded size, and rewriting the manifest when it
drops any), deletes leftover ``.part`` files, then skips every listed work whose file is
already in the manifest. A final file without a manifest line (a run stopped between the
rename and the manifest write) is hashed and gets its line back. Everything else is fetched.
Every listed work ends as exactly one of downloaded, skipped or failed; an account whose
listing failed part-way is reported, and its works listed before the failure are exported.
Two exports must not write into the same folder at the same time.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import anyio
import attrs
import orjson
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import batch
from ._client import KlingClient
from ._exceptions import (
    APIConnectionError,
    APIError,
    KlingError,
)
from ._http import httpx
from ._models import AssetsPage, Work
from ._params import normalize_emails, normalize_file_type, positive_int
from ._redact import without_query
from ._types import ContentType, FileType

__all__ = [
    "DEFAULT_FOLDER",
    "MANIFEST_NAME",
    "ExportProgress",
    "ExportReport",
    "FailedListing",
    "FailedWork",
    "ManifestEntry",
    "Outcome",
    "export_works",
]

MANIFEST_NAME = "manifest.jsonl"
"""The manifest's file name inside the export folder."""

DEFAULT_FOLDER = "default"
"""The folder of the client's default account, when no email names it."""

Outcome = Literal["downloaded", "skipped", "failed"]
"""How one listed work ended."""

_CHUNK_SIZE = 64 * 1024
# Listed works waiting for a worker: enough for the listing to run well ahead of the
# downloads (so progress knows the total early), small enough to stay a few MB.
_QUEUE_SIZE = 1000
_BY_CONTENT_TYPE = {"video": FileType.MP4, "image": FileType.PNG, "audio": FileType.MP3}
_PART_NAME = re.compile(r"\.[0-9]+\.[a-z0-9]+\.part")
_UNSAFE_IN_FOLDER = re.compile(r"[^A-Za-z0-9@._+-]")


@attrs.frozen
class ManifestEntry:
    """One line of ``manifest.jsonl``: a file of the export and the work it holds.

    Attributes:
        account: the account's email; None for the client's default account.
        work_id: the work's ID.
        content_type: ``"video"``, ``"image"`` or ``"audio"``, as listed.
        file_type: the downloaded file type, e.g. ``"MP4"``.
        prompt: the work's prompt, if any.
        created_at: the work's creation time, ISO-8601 in UTC, if known.
        path: the file, relative to the export folder, with ``/`` separators.
        bytes: the file's size.
        sha256: the file's SHA-256, in hex.
    """

    account: str | None
    work_id: int
    content_type: str | None
    file_type: str
    prompt: str | None
    created_at: str | None
    path: str
    bytes: int
    sha256: str

    def to_json(self) -> builtins.bytes:
        """The manifest line, newline included."""
        return orjson.dumps(attrs.asdict(self)) + b"\n"

    @classmethod
    def from_json(cls, line: builtins.bytes) -> ManifestEntry | None:
        """Parse one manifest line; None when it is not a well-formed entry."""
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        try:
            entry = cls(**data)
        except TypeError:
            return None
        ok = (
            isinstance(entry.work_id, int)
            and isinstance(entry.path, str)
            and isinstance(entry.bytes, int)
            and isinstance(entry.sha256, str)
        )
        return entry if ok else None


@attrs.frozen
class FailedWork:
    """A listed work that could not be exported.

    Attributes:
        account: the account's email (None: the default account).
        work_id: the work's ID.
        reason: what went wrong, in one line.
    """

    account: str | None
    work_id: int
    reason: str


@attrs.frozen
class FailedListing:
    """An account whose listing stopped at a page that could not be fetched.

    Attributes:
        account: the account's email (None: the default account).
        page_num: the page that failed.
        reason: what went wrong, in one line.
    """

    account: str | None
    page_num: int
    reason: str


@attrs.define
class ExportReport:
    """What an export did. Every listed work is counted in exactly one of the outcomes.

    Attributes:
        out_dir: the export folder.
        listed: distinct works listed.
        downloaded: works fetched in this run.
        skipped: works not fetched: their file was already there, or the work does not
            offer the file type asked for.
        recovered: of the skipped works, those whose file was there without a manifest line
            (the line was rebuilt from the file).
        unavailable: of the skipped works, those that do not offer the file type asked for.
        failed: works that could not be exported, with the reason.
        listing_failures: accounts whose listing stopped early.
        bytes_downloaded: bytes fetched in this run.
        stale_parts_removed: leftover ``.part`` files of an interrupted run that were deleted.
        elapsed: seconds the export took.
    """

    out_dir: Path
    listed: int = 0
    downloaded: int = 0
    skipped: int = 0
    recovered: int = 0
    unavailable: int = 0
    failed: list[FailedWork] = attrs.Factory(list)
    listing_failures: list[FailedListing] = attrs.Factory(list)
    bytes_downloaded: int = 0
    stale_parts_removed: int = 0
    elapsed: float = 0.0

    @property
    def manifest_path(self) -> Path:
        """The manifest's path."""
        return self.out_dir / MANIFEST_NAME

    @property
    def ok(self) -> bool:
        """Whether every account was listed to the end and every listed work is on disk."""
        return not self.failed and not self.listing_failures


class ExportProgress:
    """What `export_works` reports while it runs; this base class ignores every event.

    Every method is called from the event loop's thread and must return quickly.
    """

    def listing_started(self, accounts: int) -> None:
        """The listing of ``accounts`` accounts begins."""

    def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
        """A page arrived, adding ``new_works`` works not seen before."""

    def listing_finished(self, works: int) -> None:
        """Every account was listed (or failed); ``works`` distinct works in all."""

    def bytes_received(self, count: int) -> None:
        """``count`` more bytes were written; negative when a retried download starts over."""

    def work_finished(self, work_id: int, outcome: Outcome) -> None:
        """One listed work ended."""


@attrs.frozen
class _Job:
    account: str | None
    folder: str
    work: Work


def folder_for(account: str | None) -> str:
    """The folder name of an account: its email, lower-cased, reduced to safe characters."""
    if account is None:
        return DEFAULT_FOLDER
    name = _UNSAFE_IN_FOLDER.sub("_", account.strip().lower())
    return name if name.strip(".") else DEFAULT_FOLDER


def choose_file_type(work: Work, wanted: FileType | None) -> FileType | None:
    """The file type to download for ``work``: None when it does not offer ``wanted``.

    Raises `KlingError` when there is no way to tell (no ``wanted``, an unknown content type
    and no ``downloadInfo``).
    """
    offered: list[FileType] = []
    info = work.download_info
    for entry in info.file_types if info is not None else ():
        with contextlib.suppress(ValueError):
            offered.append(FileType((entry.type or "").upper()))
    if wanted is not None:
        return None if offered and wanted not in offered else wanted
    preferred = _BY_CONTENT_TYPE.get((work.content_type or "").lower())
    if preferred is not None and (not offered or preferred in offered):
        return preferred
    if offered:
        return offered[0]
    raise KlingError(f"cannot tell which file to download (content type {work.content_type!r})")


def _iso(work: Work) -> str | None:
    created = work.created_at
    if created is None:
        return None
    return created.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


class _Manifest:
    """The manifest file: entries already on disk, and appending new ones (one per path)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / MANIFEST_NAME
        self.entries: dict[str, ManifestEntry] = {}
        self._file: io.RawIOBase | None = None

    def load(self) -> None:
        """Read the manifest, keep entries whose file is intact, rewrite it if any was dropped."""
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            content = b""
        # A last line without its newline was cut short (or would glue to the next append).
        dirty = bool(content) and not content.endswith(b"\n")
        for line in content.splitlines():
            if not line.strip():
                continue
            entry = ManifestEntry.from_json(line)
            if entry is None or entry.path in self.entries or not self._intact(entry):
                dirty = True
                continue
            self.entries[entry.path] = entry
        if dirty:
            part = self.path.with_name(f".{MANIFEST_NAME}.part")
            part.write_bytes(b"".join(entry.to_json() for entry in self.entries.values()))
            os.replace(part, self.path)

    def _intact(self, entry: ManifestEntry) -> bool:
        file = self.path.parent / entry.path
        try:
            return file.is_file() and file.stat().st_size == entry.bytes
        except OSError:
            return False

    def open(self) -> None:
        """Open the manifest for appending; each line goes out in one unbuffered write."""
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()

    def append(self, entry: ManifestEntry) -> None:
        """Record ``entry`` (a few hundred bytes: one write, never a partial line in practice)."""
        if entry.path in self.entries or self._file is None:
            return
        self._file.write(entry.to_json())
        self.entries[entry.path] = entry

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def _prepare(out_dir: Path, manifest: _Manifest) -> int:
    """Create the folder, drop stale ``.part`` files, load the manifest; return parts removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    removed = 0
    for folder in out_dir.iterdir():
        if not folder.is_dir():
            continue
        for file in folder.iterdir():
            if _PART_NAME.fullmatch(file.name) and file.is_file():
                file.unlink()
                removed += 1
    with contextlib.suppress(FileNotFoundError):
        (out_dir / f".{MANIFEST_NAME}.part").unlink()
    manifest.load()
    manifest.open()
    return removed


def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


class _Exporter:
    def __init__(
        self,
        client: KlingClient,
        out_dir: Path,
        manifest: _Manifest,
        report: ExportReport,
        progress: ExportProgress,
        file_type: FileType | None,
    ) -> None:
        self.client = client
        self.out_dir = out_dir
        self.manifest = manifest
        self.report = report
        self.progress = progress
        self.file_type = file_type
        self.folders: set[str] = set()

    def finish(self, work_id: int, outcome: Outcome) -> None:
        if outcome == "downloaded":
            self.report.downloaded += 1
        elif outcome == "skipped":
            self.report.skipped += 1
        self.progress.work_finished(work_id, outcome)

    def fail(self, job: _Job, reason: str) -> None:
        self.report.failed.append(FailedWork(job.account, job.work.work_id, reason))
        self.finish(job.work.work_id, "failed")

    async def worker(self, jobs: MemoryObjectReceiveStream[_Job]) -> None:
        async with jobs:
            async for job in jobs:
                try:
                    outcome = await self.export_one(job)
                except (KlingError, OSError) as error:
                    self.fail(job, _one_line(error))
                except Exception as error:  # one odd work must not stop the others
                    self.fail(job, f"{type(error).__name__}: {_one_line(error)}")
                else:
                    self.finish(job.work.work_id, outcome)

    def entry_for(
        self, job: _Job, file_type: FileType, path: str, size: int, sha256: str
    ) -> ManifestEntry:
        work = job.work
        return ManifestEntry(
            account=job.account,
            work_id=work.work_id,
            content_type=work.content_type,
            file_type=file_type.value,
            prompt=work.prompt,
            created_at=_iso(work),
            path=path,
            bytes=size,
            sha256=sha256,
        )

    async def export_one(self, job: _Job) -> Outcome:
        work_id = job.work.work_id
        file_type = choose_file_type(job.work, self.file_type)
        if file_type is None:
            self.report.unavailable += 1
            return "skipped"
        name = f"{work_id}.{file_type.extension}"
        relative = f"{job.folder}/{name}"
        if relative in self.manifest.entries:
            return "skipped"
        folder = self.out_dir / job.folder
        final = folder / name
        if await anyio.Path(final).is_file():
            size, sha256 = await anyio.to_thread.run_sync(_hash_file, final)
            self.manifest.append(self.entry_for(job, file_type, relative, size, sha256))
            self.report.recovered += 1
            return "skipped"
        if job.folder not in self.folders:
            await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
            self.folders.add(job.folder)
        result = await self.client.assets.download(work_id, file_types=file_type, email=job.account)
        if not result.cdn_url:
            raise KlingError(
                f"GET /assets/download gave an empty cdnUrl (status {result.status!r})"
            )
        part = folder / f".{name}.part"
        try:
            size, sha256 = await self.fetch(result.cdn_url, part)
            # Built before the rename: nothing may fail between the rename and the line.
            entry = self.entry_for(job, file_type, relative, size, sha256)
            await anyio.Path(part).replace(final)
        finally:
            # Also on cancellation: a synchronous unlink is one quick system call.
            _remove_quietly(part)
        self.manifest.append(entry)
        self.report.bytes_downloaded += size
        return "downloaded"

    async def fetch(self, url: str, part: Path) -> tuple[int, str]:
        """Stream ``url`` into ``part`` through the client's send path; return size and SHA-256.

        The client retries transient failures; each attempt writes ``part`` from the start.
        """

        async def receive(response: httpx.Response) -> tuple[int, str]:
            tally = _Tally()
            try:
                return await self.stream(response, url, part, tally)
            except BaseException:
                self.progress.bytes_received(-tally.size)  # the next attempt starts over
                raise

        return await self.client._fetch_file(url, receive)

    async def stream(
        self, response: httpx.Response, url: str, part: Path, tally: _Tally
    ) -> tuple[int, str]:
        """Write a 2xx CDN response's body into ``part``, hashing as it goes."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":  # asked for identity: a retry would get the same
            raise APIError(
                f"the CDN sent {without_query(url)} with Content-Encoding {encoding!r}, "
                "not the file as stored"
            )
        digest = hashlib.sha256()
        async with await anyio.open_file(part, "wb") as file:

            async def write(chunk: bytes) -> None:
                digest.update(chunk)
                await file.write(chunk)
                tally.size += len(chunk)
                self.progress.bytes_received(len(chunk))

            if response.is_stream_consumed:  # a transport that read it already (MockTransport)
                await write(response.content)
            else:
                async for chunk in response.aiter_raw(_CHUNK_SIZE):
                    await write(chunk)
            await file.flush()
            await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
        value = response.headers.get("content-length", "")
        expected = int(value) if value.isdigit() else None
        if expected is not None and expected != tally.size:
            raise APIConnectionError(
                f"the download from {without_query(url)} ended after {tally.size} of "
                f"{expected} bytes"
            )
        return tally.size, digest.hexdigest()

    async def list_works(
        self,
        pages: batch.ConcurrentPages[AssetsPage],
        jobs: MemoryObjectSendStream[_Job],
        accounts: int,
    ) -> None:
        """Feed every distinct listed work to the workers, then record failed listings."""
        seen: set[tuple[str, int]] = set()
        self.progress.listing_started(accounts)
        async with jobs:
            async for item in pages:
                folder = folder_for(item.email)
                fresh = []
                for work in item.works:
                    if (folder, work.work_id) in seen:
                        continue  # pages shifted by a new work: listed twice
                    seen.add((folder, work.work_id))
                    fresh.append(_Job(item.email, folder, work))
                self.report.listed += len(fresh)
                self.progress.page_listed(item.email, item.page_num, len(fresh))
                for job in fresh:
                    await jobs.send(job)
        for failure in pages.failures:
            self.report.listing_failures.append(
                FailedListing(failure.email, failure.page_num, _one_line(failure.error))
            )
        self.progress.listing_finished(self.report.listed)


@attrs.define
class _Tally:
    size: int = 0


def _accounts(emails: Sequence[str] | str | None) -> list[str] | None:
    """The accounts to export, each once (without regard to case); None: the default."""
    accounts = normalize_emails(emails)
    return None if accounts is None else list(accounts)


async def export_works(
    client: KlingClient,
    out_dir: str | os.PathLike[str],
    *,
    emails: Sequence[str] | str | None = None,
    content_type: ContentType | str | None = None,
    file_type: FileType | str | None = None,
    concurrency: int = 8,
    page_size: int = 40,
    progress: ExportProgress | None = None,
) -> ExportReport:
    """Export every work of the accounts into ``out_dir``; see the module docstring.

    Args:
        client: the API client (its retry policy also covers CDN downloads).
        out_dir: the export folder; created when missing, resumed when it holds an export.
        emails: the accounts (a single string is one; case does not matter); None: the
            client's default account.
        content_type: only works of this content type.
        file_type: download this type for every work instead of choosing per work.
        concurrency: at most this many works in progress (and page requests in flight).
        page_size: works listing page size.
        progress: receives progress events.

    Returns:
        The `ExportReport`; failures are in it, not raised. Bad arguments raise
        `InvalidInputError`; a folder that cannot be written raises `OSError`.
    """
    wanted = normalize_file_type(file_type)
    concurrency = positive_int(concurrency, "concurrency")
    accounts = _accounts(emails)
    pages = batch.iter_pages(
        client,
        accounts,
        content_type=content_type,
        page_size=page_size,
        concurrency=concurrency,
        per_account=min(4, concurrency),
        on_error="continue",
    )
    started = time.perf_counter()
    out = Path(out_dir)
    report = ExportReport(out)
    manifest = _Manifest(out)
    report.stale_parts_removed = await anyio.to_thread.run_sync(_prepare, out, manifest)
    try:
        exporter = _Exporter(client, out, manifest, report, progress or ExportProgress(), wanted)
        send, receive = anyio.create_memory_object_stream[_Job](_QUEUE_SIZE)
        async with anyio.create_task_group() as tg:
            with receive:
                for _ in range(concurrency):
                    tg.start_soon(exporter.worker, receive.clone())
            async with pages:  # pipelined: listing requests stay in flight
                await exporter.list_works(pages, send, len(accounts) if accounts else 1)
    finally:
        manifest.close()
        report.elapsed = time.perf_counter() - started
    return report
