"""`export_works`: list the works of the accounts and fetch every file, resumably.

How it runs:

1. Arguments are checked, then the first API call is made (GET /accounts, or the first page
   of the first account) before anything touches the disk: a wrong token (401) or a lapsed
   subscription (402) is raised with no folder and no manifest left behind.
2. The folder is created and locked (`folder_lock`): a second export into it stops at once.
   Leftover ``.part`` files are deleted and the manifest is checked (`Manifest.load`): only
   lines whose file is intact are trusted.
3. The listing (`kling_async.batch.iter_pages`, every account's pages in flight at once) runs
   ahead of the downloads: each distinct work becomes a small record on an unbounded queue,
   so the total is known early. ``concurrency`` worker tasks take records off the queue; for
   each, one GET /assets/download with exactly one file type (only that form gives the file
   itself, not a .zip) and the file streamed from the CDN, so every URL is used moments
   after it was issued and a failure belongs to exactly one work.
4. A file is streamed to ``.<workId>.<ext>.part`` in its final folder, hashed while it
   streams, fsynced, and renamed to its final name only when complete; then its manifest line
   is written. A file already there without a trusted line is fetched again, never adopted.
5. At the end (also when cancelled) ``failed.jsonl`` is rewritten with the works that failed,
   the manifest is flushed, the lock released, and the report handed to the progress.

Every listed work ends as exactly one of downloaded, skipped or failed. ``since`` and
``new_only`` stop an account's listing early (listings come newest first), so a nightly run
costs a few requests.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from pathlib import Path

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .. import batch
from .._client import KlingClient
from .._exceptions import (
    APIError,
    AuthenticationError,
    KlingError,
    PaymentRequiredError,
)
from .._models import AssetsPage, Work
from .._models._common import datetime_from_ms
from .._params import (
    check_bool,
    normalize_content_type,
    normalize_emails,
    normalize_file_type,
    normalize_timestamp,
    positive_int,
)
from .._types import ContentType, FileType
from ._download import fetch_file
from ._layout import choose_file_type, file_name, folder_for, is_part
from ._lock import folder_lock
from ._manifest import Manifest, ManifestEntry, write_failures
from ._report import (
    AccountReport,
    ExportProgress,
    ExportReport,
    FailedListing,
    FailedWork,
    Outcome,
)

__all__ = ["export_works"]


class _Job:
    """One listed work waiting for a worker: only what its file and manifest line need."""

    __slots__ = (
        "account",
        "content_type",
        "create_time",
        "file_type",
        "folder",
        "problem",
        "prompt",
        "work_id",
    )

    def __init__(self, account: str | None, folder: str, work: Work, wanted: FileType | None):
        self.account = account
        self.folder = folder
        self.work_id = work.work_id
        # One string object for all works of a type, not one per listed work.
        self.content_type = sys.intern(work.content_type) if work.content_type else None
        self.create_time = work.create_time
        self.prompt = work.prompt
        self.problem: str | None = None
        self.file_type: FileType | None = None
        try:
            self.file_type = choose_file_type(work, wanted)
        except KlingError as error:
            self.problem = _one_line(error)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _iso(milliseconds: int | None) -> str | None:
    """A work's creation time for its manifest line: ISO 8601 in UTC, None when unknown."""
    moment = datetime_from_ms(milliseconds)  # None for 0, None, or out of range, as on `Work`
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Export:
    """One run: the report, the manifest, and what the listing and the workers share."""

    def __init__(
        self,
        client: KlingClient,
        report: ExportReport,
        manifest: Manifest,
        progress: ExportProgress,
        *,
        wanted: FileType | None,
        since_ms: int | None,
        new_only: bool,
        page_size: int,
    ) -> None:
        self.client = client
        self.report = report
        self.out = report.out_dir
        self.manifest = manifest
        self.progress = progress
        self.wanted = wanted
        self.since_ms = since_ms
        self.new_only = new_only
        self.page_size = page_size
        self.complete: dict[str, set[int]] = {}  # by folder: works with a trusted line
        self.seen: dict[str, set[int]] = {}
        self.folders: set[str] = set()

    # -- listing -----------------------------------------------------------------------

    async def list_works(
        self, pages: batch.ConcurrentPages[AssetsPage], jobs: MemoryObjectSendStream[_Job] | None
    ) -> None:
        """Turn every distinct listed work into a job (or, in a dry run, a plan)."""
        self.complete = self.manifest.work_ids()  # the manifest is loaded by now
        ended: set[str | None] = set()
        async with pages:
            async for item in pages:
                account = item.email
                fresh = self.fresh_works(item)
                report = self.report.accounts[account]
                report.listed += len(fresh)
                self.progress.page_listed(account, item.page_num, len(fresh))
                for job in fresh:
                    if jobs is None:
                        self.plan(job)
                    else:
                        await jobs.send(job)
                if self.stops_here(item):
                    pages.end_account(account)  # the rest is older, or exported already
                    self.account_done(account, ended, complete=True)
                elif len(item.page.history) < self.page_size:  # a short page is the last
                    self.account_done(account, ended, complete=True)
        for failure in pages.failures:
            self.report.accounts[failure.email].listing_complete = False
            self.report.listing_failures.append(
                FailedListing(failure.email, failure.page_num, _one_line(failure.error))
            )
        for account in self.report.accounts:
            report = self.report.accounts[account]
            self.account_done(account, ended, complete=report.listing_complete)
        self.progress.listing_finished(self.report.listed)

    def fresh_works(self, item: batch.AccountPage[AssetsPage]) -> list[_Job]:
        folder = folder_for(item.email)
        seen = self.seen.setdefault(folder, set())
        fresh = []
        for work in item.works:
            if work.work_id in seen:
                continue  # pages shifted by a new work: listed twice
            if self.since_ms is not None and (work.create_time or math.inf) < self.since_ms:
                continue
            seen.add(work.work_id)
            fresh.append(_Job(item.email, folder, work, self.wanted))
        return fresh

    def stops_here(self, item: batch.AccountPage[AssetsPage]) -> bool:
        """Whether the account's listing can stop after this page (newest first)."""
        works = item.works
        if not works:
            return False
        if self.since_ms is not None and all(
            work.create_time is not None and work.create_time < self.since_ms for work in works
        ):
            return True
        if self.new_only:
            done = self.complete.get(folder_for(item.email), set())
            return all(work.work_id in done for work in works)
        return False

    def account_done(self, account: str | None, ended: set[str | None], *, complete: bool) -> None:
        if account not in ended:
            ended.add(account)
            self.progress.account_listed(account, self.report.accounts[account].listed, complete)

    def plan(self, job: _Job) -> None:
        """Dry run: count what this work would come to."""
        report = self.report.accounts[job.account]
        if job.problem is None and job.file_type is None:
            self.report.unavailable += 1
            self.finish(job, "skipped")
        elif job.file_type is not None and self.relative(job) in self.manifest.entries:
            self.finish(job, "skipped")
        else:
            key = job.file_type.value if job.file_type is not None else "unknown"
            report.planned[key] = report.planned.get(key, 0) + 1

    # -- downloading -------------------------------------------------------------------

    def relative(self, job: _Job) -> str:
        assert job.file_type is not None
        return f"{job.folder}/{file_name(job.work_id, job.file_type)}"

    def finish(self, job: _Job, outcome: Outcome, size: int = 0) -> None:
        report = self.report.accounts[job.account]
        if outcome == "downloaded":
            report.downloaded += 1
            report.bytes += size
        elif outcome == "skipped":
            report.skipped += 1
        else:
            report.failed += 1
        self.progress.work_finished(job.account, job.work_id, outcome, size)

    def fail(self, job: _Job, reason: str) -> None:
        self.report.failed.append(FailedWork(job.account, job.work_id, reason))
        self.finish(job, "failed")

    async def worker(self, jobs: MemoryObjectReceiveStream[_Job]) -> None:
        async with jobs:
            async for job in jobs:
                try:
                    outcome, size = await self.export_one(job)
                except (KlingError, OSError) as error:
                    self.fail(job, _one_line(error))
                except Exception as error:  # one odd work must not stop the others
                    self.fail(job, f"{type(error).__name__}: {_one_line(error)}")
                else:
                    self.finish(job, outcome, size)

    async def export_one(self, job: _Job) -> tuple[Outcome, int]:
        if job.problem is not None:
            raise KlingError(job.problem)
        if job.file_type is None:
            self.report.unavailable += 1
            return "skipped", 0
        relative = self.relative(job)
        if relative in self.manifest.entries:
            return "skipped", 0
        folder = self.out / job.folder
        name = file_name(job.work_id, job.file_type)
        final = folder / name
        if job.folder not in self.folders:
            await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
            self.folders.add(job.folder)
        if await anyio.Path(final).exists():
            self.report.replaced += 1  # there, but not trusted: fetched again, never adopted
        result = await self.client.assets.download(
            job.work_id, file_types=job.file_type, email=job.account
        )
        if not result.cdn_url:
            raise KlingError(
                f"GET /assets/download gave an empty cdnUrl (status {result.status!r})"
            )
        part = folder / f".{name}.part"
        try:
            size, sha256 = await fetch_file(
                self.client, result.cdn_url, part, self.progress.bytes_received
            )
            # Built before the rename: nothing may fail between the rename and the line.
            entry = ManifestEntry(
                account=job.account,
                work_id=job.work_id,
                content_type=job.content_type,
                file_type=job.file_type.value,
                prompt=job.prompt,
                created_at=_iso(job.create_time),
                path=relative,
                bytes=size,
                sha256=sha256,
            )
            await anyio.Path(part).replace(final)
        finally:
            # Also on cancellation: a synchronous unlink is one quick system call.
            _remove_quietly(part)
        self.manifest.append(entry)
        return "downloaded", size


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _prepare(out: Path, manifest: Manifest, verify: bool) -> tuple[int, int]:
    """Drop stale ``.part`` files and load the manifest; return (parts removed, lines dropped)."""
    removed = 0
    for folder in out.iterdir():
        if folder.is_dir():
            for file in folder.iterdir():
                if is_part(file.name) and file.is_file():
                    file.unlink()
                    removed += 1
    return removed, manifest.load(verify=verify)


async def _accounts(
    client: KlingClient, emails: Iterable[str] | str | None
) -> tuple[list[str], bool]:
    """The accounts to export, and whether the token is still to be checked.

    Those given (each once), else the client's default account, else every account of the
    subscription (GET /accounts, which checks the token on the way).
    """
    given = normalize_emails(emails)
    if given is not None:
        return list(given), True
    if client.email is not None:
        return [client.email], True
    accounts = await client.accounts.list()
    return [account.email for account in accounts], False


async def _check_token(client: KlingClient, account: str) -> None:
    """Raise before anything is written if the service refuses the token or the subscription.

    That is a 401 or a 402; any other failure is left to the listing, which reports it for its
    account.
    """
    try:
        await client.assets.list(email=account, page_size=1)
    except (AuthenticationError, PaymentRequiredError):
        raise
    except APIError:
        pass


async def export_works(
    client: KlingClient,
    out_dir: str | os.PathLike[str],
    *,
    emails: Iterable[str] | str | None = None,
    content_type: ContentType | str | None = None,
    file_type: FileType | str | None = None,
    since: datetime | None = None,
    new_only: bool = False,
    verify: bool = False,
    dry_run: bool = False,
    concurrency: int = 8,
    page_size: int = 40,
    progress: ExportProgress | None = None,
) -> ExportReport:
    """Export every work of the accounts into ``out_dir``, resuming what an earlier run began.

    Files go to ``OUT_DIR/<account>/<workId>.<ext>`` with one line each in
    ``OUT_DIR/manifest.jsonl``; works that failed are listed in ``OUT_DIR/failed.jsonl``. See
    the module docstring for how it runs and what it trusts.

    Args:
        client: the API client (its retry policy also covers the CDN downloads).
        out_dir: the export folder; created when missing, resumed when it holds an export.
        emails: the accounts (a single string is one; case does not matter); None: the
            client's default account when it has one, else every account of the subscription
            (GET /accounts).
        content_type: only works of this content type.
        file_type: download this type for every work instead of choosing per work.
        since: only works created at or after this moment (a naive datetime is UTC).
        new_only: stop listing an account at its first page whose works are all exported.
        verify: hash every file of the manifest before trusting it (else size is checked).
        dry_run: list, and report what would be fetched (``planned``); write nothing.
        concurrency: at most this many works in progress (and page requests in flight).
        page_size: listing page size.
        progress: receives progress events, and the report at the end.

    Returns:
        The `ExportReport`; per-work failures are in it, not raised.

    Raises:
        InvalidInputError: a bad argument (before any request).
        AuthenticationError, PaymentRequiredError: the first call was refused; nothing
            was written.
        ExportLockedError: another export holds the folder; nothing was changed.
        OSError: the folder cannot be written.
    """
    wanted = normalize_file_type(file_type)
    normalize_content_type(content_type)
    concurrency = positive_int(concurrency, "concurrency")
    page_size = positive_int(page_size, "page_size")
    since_ms = normalize_timestamp(since, "since", round_up=True)  # "at or after": inclusive
    new_only, verify, dry_run = (
        check_bool(new_only, "new_only"),
        check_bool(verify, "verify"),
        check_bool(dry_run, "dry_run"),
    )
    progress = progress if progress is not None else ExportProgress()
    out = Path(out_dir)
    accounts, unchecked = await _accounts(client, emails)
    if unchecked and accounts:
        await _check_token(client, accounts[0])
    report = ExportReport(
        out, accounts={account: AccountReport(account) for account in accounts}, dry_run=dry_run
    )
    pages = batch.iter_pages(
        client,
        accounts,
        content_type=content_type,
        page_size=page_size,
        concurrency=concurrency,
        per_account=min(4, concurrency),
        on_error="continue",
    )
    manifest = Manifest(out)
    run = _Export(
        client,
        report,
        manifest,
        progress,
        wanted=wanted,
        since_ms=since_ms,
        new_only=new_only,
        page_size=page_size,
    )
    if dry_run:
        if await anyio.Path(out).is_dir():
            await anyio.to_thread.run_sync(lambda: manifest.load(verify=verify, rewrite=False))
        async with _reporting(report, progress, accounts, len(manifest.entries)):
            await run.list_works(pages, None)
        return report
    await anyio.to_thread.run_sync(lambda: out.mkdir(parents=True, exist_ok=True))
    with folder_lock(out):
        try:
            removed, _ = await anyio.to_thread.run_sync(_prepare, out, manifest, verify)
            report.stale_parts_removed = removed
            manifest.open()
            async with _reporting(report, progress, accounts, len(manifest.entries)):
                send, receive = anyio.create_memory_object_stream[_Job](math.inf)
                async with anyio.create_task_group() as tg:
                    with receive:
                        for _ in range(concurrency):
                            tg.start_soon(run.worker, receive.clone())
                    async with send:  # closed however the listing ends: the workers stop
                        await run.list_works(pages, send)
        finally:
            manifest.close()
            write_failures(out, report.failed)
    return report


@contextlib.asynccontextmanager
async def _reporting(
    report: ExportReport, progress: ExportProgress, accounts: list[str], complete: int
) -> AsyncIterator[None]:
    """Tell ``progress`` the export started, and hand it the report however it ends."""
    report.already_complete = complete
    started = time.perf_counter()
    progress.export_started(report.out_dir, accounts, complete)
    try:
        yield
    except BaseException as exc:
        report.interrupted = not isinstance(exc, Exception)  # cancelled, or Ctrl-C
        raise
    finally:
        report.elapsed = time.perf_counter() - started
        progress.export_finished(report)
