"""What an export tells: its report at the end, and progress events while it runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

__all__ = [
    "AccountReport",
    "ExportProgress",
    "ExportReport",
    "FailedListing",
    "FailedWork",
    "Outcome",
]

Outcome = Literal["downloaded", "skipped", "failed"]
"""How one listed work ended: fetched in this run, not fetched (already complete, or it does
not offer the file type asked for), or failed."""


@attrs.frozen
class FailedWork:
    """A listed work that could not be exported.

    Attributes:
        account: the account's email (None: the client's default account).
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
        account: the account's email (None: the client's default account).
        page_num: the page that failed.
        reason: what went wrong, in one line.
    """

    account: str | None
    page_num: int
    reason: str


@attrs.define
class AccountReport:
    """One account's share of an export; every listed work is in exactly one outcome.

    Attributes:
        account: the account's email (None: the client's default account).
        listed: distinct works listed (after ``since``).
        downloaded: works fetched in this run.
        skipped: works not fetched: already complete, or not offering the file type asked for.
        failed: works that could not be exported.
        bytes: bytes fetched in this run.
        planned: with ``dry_run``, the works that would be fetched, by file type (``"MP4"``).
        listing_complete: whether the listing reached the account's end (or a stop it was
            asked for: ``since``, ``new_only``) rather than a failed page.
    """

    account: str | None
    listed: int = 0
    downloaded: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0
    planned: dict[str, int] = attrs.Factory(dict)
    listing_complete: bool = True


@attrs.define
class ExportReport:
    """What an export did, in all and per account.

    Attributes:
        out_dir: the export folder.
        accounts: one `AccountReport` per account, in the order they were asked for.
        failed: every work that could not be exported, with the reason.
        listing_failures: accounts whose listing stopped at a failed page.
        already_complete: works whose file was in the folder, checked against its manifest
            line, when the export started.
        replaced: files found in the folder that could not be trusted (no manifest line, a
            size or, with ``verify``, a hash that differs) and were fetched again.
        unavailable: of the skipped works, those not offering the file type asked for.
        stale_parts_removed: leftover ``.part`` files of an interrupted run, deleted.
        dry_run: nothing was written: ``planned`` says what would have been fetched.
        interrupted: the export was cancelled before it finished.
        elapsed: seconds the export took.
    """

    out_dir: Path
    accounts: dict[str | None, AccountReport] = attrs.Factory(dict)
    failed: list[FailedWork] = attrs.Factory(list)
    listing_failures: list[FailedListing] = attrs.Factory(list)
    already_complete: int = 0
    replaced: int = 0
    unavailable: int = 0
    stale_parts_removed: int = 0
    dry_run: bool = False
    interrupted: bool = False
    elapsed: float = 0.0

    @property
    def listed(self) -> int:
        """Distinct works listed, over all accounts."""
        return sum(account.listed for account in self.accounts.values())

    @property
    def downloaded(self) -> int:
        """Works fetched in this run, over all accounts."""
        return sum(account.downloaded for account in self.accounts.values())

    @property
    def skipped(self) -> int:
        """Works not fetched (already complete, or type not offered), over all accounts."""
        return sum(account.skipped for account in self.accounts.values())

    @property
    def bytes_downloaded(self) -> int:
        """Bytes fetched in this run, over all accounts."""
        return sum(account.bytes for account in self.accounts.values())

    @property
    def planned(self) -> dict[str, int]:
        """With ``dry_run``: the works that would be fetched, by file type, over all accounts."""
        total: dict[str, int] = {}
        for account in self.accounts.values():
            for file_type, count in account.planned.items():
                total[file_type] = total.get(file_type, 0) + count
        return total

    @property
    def ok(self) -> bool:
        """Whether every account was listed to its end and every listed work is on disk."""
        return not self.failed and not self.listing_failures and not self.interrupted

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (what ``kling-async export --json`` prints)."""
        return {
            "out_dir": str(self.out_dir),
            "ok": self.ok,
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "elapsed": round(self.elapsed, 3),
            "listed": self.listed,
            "downloaded": self.downloaded,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "bytes": self.bytes_downloaded,
            "already_complete": self.already_complete,
            "replaced": self.replaced,
            "unavailable": self.unavailable,
            "stale_parts_removed": self.stale_parts_removed,
            "planned": self.planned,
            "accounts": [attrs.asdict(account) for account in self.accounts.values()],
            "failures": [attrs.asdict(failure) for failure in self.failed],
            "listing_failures": [attrs.asdict(failure) for failure in self.listing_failures],
        }


class ExportProgress:
    """What `export_works` reports while it runs; this base class ignores every event.

    Subclass it and override what you need. Every method is called from the event loop's
    thread and must return quickly. The order: `export_started` once; then, interleaved,
    `page_listed` (and `account_listed` as each account's listing ends), `bytes_received`
    and `work_finished`; `listing_finished` once every account is listed.
    """

    def export_started(
        self, out_dir: Path, accounts: Sequence[str | None], already_complete: int
    ) -> None:
        """The export begins: the folder is locked and its manifest checked.

        ``already_complete`` works of an earlier run are in the folder, checked against the
        manifest (the total to do is known only as the listing goes on).
        """

    def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
        """A page arrived, adding ``new_works`` works not seen before."""

    def account_listed(self, account: str | None, works: int, complete: bool) -> None:
        """An account's listing ended with ``works`` works; ``complete``: not by a failure."""

    def listing_finished(self, works: int) -> None:
        """Every account was listed (or failed); ``works`` distinct works in all."""

    def bytes_received(self, count: int) -> None:
        """``count`` more bytes were written; negative when a retried download starts over."""

    def work_finished(self, account: str | None, work_id: int, outcome: Outcome, size: int) -> None:
        """One listed work ended; ``size``: the bytes fetched for it (0 unless downloaded)."""

    def export_finished(self, report: ExportReport) -> None:
        """The export ended, also when it was cancelled.

        When cancelled, ``report.interrupted`` is True and the counts are those reached so far.
        """
