"""How ``kling-async export`` and ``demo`` show an export: live progress, then a summary.

Only the commands that show an export import this module (rich is the ``cli`` extra).
Everything goes to stderr. On a terminal: a listing bar and a download bar whose total grows as
works are listed (final once the listing ends), with bytes, MB/s, works/s and an ETA. Without
a terminal: plain lines (no control codes, no carriage returns): one at the start, one per
account listed, one per 10% of the works or every few seconds at most, then the summary.
``--quiet`` shows only the failures; ``--json`` leaves the summary to the JSON on stdout.

The summary: the counts, a table per account (listed, downloaded, skipped, failed, bytes), the
first failures with a pointer to ``failed.jsonl``; after Ctrl-C, the counts so far and the
command that resumes. A dry run shows what would be downloaded, per account and file type.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .._redact import redact_text
from ..export import FAILED_NAME, MANIFEST_NAME, ExportProgress, ExportReport, Outcome

__all__ = ["FAILURES_SHOWN", "LINE_EVERY", "ExportView", "stderr_console"]

FAILURES_SHOWN = 10
"""The summary lists this many failed works; the rest are in ``failed.jsonl``."""

LINE_EVERY = 5.0
"""Without a terminal, seconds between progress lines (besides one per 10% of the works)."""


class ExportView(ExportProgress):
    """The progress of an export on stderr, and its summary.

    Args:
        quiet: show no progress and no summary, only the failures.
        json: the report goes to stdout as JSON: show progress, but no summary.
        dry_run: the export only lists (what an earlier run completed is not "resumed").
        file_type: the ``--file-type`` asked for, to say which works do not offer it.
        console: where to show it (default: stderr); plain lines unless it is a terminal.
        secrets: tokens never to show.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        *,
        quiet: bool = False,
        json: bool = False,
        dry_run: bool = False,
        file_type: str | None = None,
        console: Console | None = None,
        secrets: Sequence[str | None] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console if console is not None else stderr_console()
        self.secrets = tuple(secrets)
        self.quiet = quiet
        self.json = json
        self.resuming = "already exported:" if dry_run else "resuming:"
        self.file_type = file_type
        self.clock = clock
        self.live = not quiet and self.console.is_terminal
        self.report: ExportReport | None = None
        """The report `export_finished` was given (also that of an interrupted export)."""
        self._bars: Progress | None = None
        self._listing: TaskID | None = None
        self._downloads: TaskID | None = None
        self._accounts = 0
        self._accounts_listed = 0
        self._pages = 0
        self._already_complete = 0
        self._listed = 0
        self._listing_done = False
        self._finished = 0
        self._downloaded = 0
        self._skipped = 0
        self._failed = 0
        self._bytes = 0
        self._started = clock()
        self._last_line = self._started
        self._last_tenth = 0

    # -- the context: live bars on a terminal ----------------------------------------------------

    def __enter__(self) -> ExportView:
        if self.live:
            self._bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<11}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_bars()

    def _stop_bars(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    # -- printing ------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        """Print a line, unless quiet."""
        if not self.quiet:
            self.say(text)

    def say(self, text: str) -> None:
        """Print text as it is (tokens hidden): no markup, no highlighting, no wrapping."""
        text = redact_text(text, *self.secrets)
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _hide(self, text: str) -> str:
        return redact_text(text, *self.secrets)

    # -- ExportProgress --------------------------------------------------------------------------

    def export_started(
        self, out_dir: Path, accounts: Sequence[str | None], already_complete: int
    ) -> None:
        """Start the clock and the bars; say how much an earlier run left complete."""
        self._accounts = len(accounts)
        self._already_complete = already_complete
        self._started = self._last_line = self.clock()
        if not self.live:
            self.note(f"Exporting {_count(len(accounts), 'account')} to {out_dir}.")
        if already_complete:
            self.note(f"{self.resuming} {already_complete} already complete")
        if self._bars is not None:
            self._listing = self._bars.add_task("Listing", total=None, detail="")
            self._downloads = self._bars.add_task("Downloading", total=0, detail="")
            self._refresh()

    def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
        """Count the works; the download bar's total grows with them."""
        self._pages += 1
        self._listed += new_works
        self._refresh()

    def account_listed(self, account: str | None, works: int, complete: bool) -> None:
        """One account is listed: a line without a terminal."""
        self._accounts_listed += 1
        if not self.live:
            name = _account(account)
            if complete:
                self.note(f"listed {name}: {_count(works, 'work')}")
            else:
                self.note(f"listing {name} stopped at a failed page after {_count(works, 'work')}")
        self._refresh()

    def listing_finished(self, works: int) -> None:
        """The totals are final: say so, with how many of them an earlier run completed."""
        self._listed = works
        self._listing_done = True
        if not self.live:
            self.note(f"listed {_count(works, 'work')} of {_count(self._accounts, 'account')}")
        if self._already_complete:
            if self._already_complete <= works:
                done = f"{self._already_complete} of {works}"
                self.note(f"{self.resuming} {done} already complete")
            else:  # --since or --content-type leave some of the folder's works unlisted
                done = f"{self._already_complete} already complete ({works} listed)"
                self.note(f"{self.resuming} {done}")
        self._refresh()

    def bytes_received(self, count: int) -> None:
        """Count the bytes (negative: a retried download starts over)."""
        self._bytes += count
        self._refresh(lines=False)

    def work_finished(self, account: str | None, work_id: int, outcome: Outcome, size: int) -> None:
        """Count the work by its outcome and advance the download bar."""
        self._finished += 1
        if outcome == "downloaded":
            self._downloaded += 1
        elif outcome == "skipped":
            self._skipped += 1
        else:
            self._failed += 1
        self._refresh()

    def export_finished(self, report: ExportReport) -> None:
        """Keep the report for the summary, and stop the bars (their last state stays)."""
        self.report = report
        self._refresh(lines=False)
        self._stop_bars()

    # -- progress ------------------------------------------------------------------------------

    def _refresh(self, *, lines: bool = True) -> None:
        """Update the bars, or, without a terminal, print a line when one is due."""
        if self._bars is not None and self._listing is not None and self._downloads is not None:
            accounts = f"{self._accounts_listed}/{self._accounts} accounts, "
            self._bars.update(
                self._listing,
                completed=self._listed,
                total=self._listed if self._listing_done else None,
                detail=f"{accounts}{_count(self._pages, 'page')}",
            )
            self._bars.update(
                self._downloads,
                completed=self._finished,
                total=self._listed,
                detail=self._rates(),
            )
        elif lines and not self.quiet and self._listed:
            now = self.clock()
            tenth = self._finished * 10 // self._listed if self._listing_done else 0
            if tenth > self._last_tenth or now - self._last_line >= LINE_EVERY:
                self._last_tenth = max(tenth, self._last_tenth)
                self._last_line = now
                self.say(self._progress_line())

    def _progress_line(self) -> str:
        """``"30/120 works (25%): ..."``, or while listing ``"30 works of 200 listed so far"``."""
        if self._listing_done:
            done = (
                f"{self._finished}/{self._listed} works ({self._finished * 100 // self._listed}%)"
            )
        else:
            done = f"{self._finished} works of {self._listed} listed so far"
        counts = f"{self._downloaded} downloaded, {self._skipped} skipped, {self._failed} failed"
        return f"{done}: {counts}; {self._rates()}"

    def _rates(self) -> str:
        """``"12.3 MB, 1.2 MB/s, 3.4 works/s, ETA 0:01:05"``; the ETA once the total is known."""
        elapsed = max(self.clock() - self._started, 1e-3)
        per_second = self._downloaded / elapsed
        text = f"{_size(self._bytes)}, {_size(self._bytes / elapsed)}/s, {per_second:.1f} works/s"
        if self._listing_done:
            # Works an earlier run completed will be skipped at once: they take no time.
            to_skip = max(0, self._already_complete - self._skipped)
            remaining = max(0, self._listed - self._finished - to_skip)
            if remaining == 0:
                text += ", ETA 0:00:00"
            elif per_second > 0:
                text += f", ETA {_duration(remaining / per_second)}"
        return text

    # -- the summary -----------------------------------------------------------------------------

    def summary(self, report: ExportReport, *, resume: str | None = None) -> None:
        """The counts and the table (unless quiet or JSON), then the failures (unless JSON).

        ``resume``: the command that resumes, said when the export was interrupted.
        """
        if not (self.quiet or self.json):
            self._counts(report)
            # A log is as wide as the table needs; a terminal is as wide as it is.
            width = None if self.console.is_terminal else 200
            self.console.print(self._table(report), width=width)
        if not self.json:
            self._failures(report)
        if report.interrupted and not report.dry_run and resume is not None:
            self.say(f"resume with: {resume}")

    def _counts(self, report: ExportReport) -> None:
        out = report.out_dir
        if report.interrupted:
            self.say(f"Interrupted after {report.elapsed:.1f} s; the counts so far:")
        elif report.dry_run:
            self.say(f"Dry run: nothing was written to {out}; listed in {report.elapsed:.1f} s.")
        else:
            self.say(f"Export to {out} took {report.elapsed:.1f} s.")
        if report.dry_run:
            planned = report.planned
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(planned.items()))
            self.say(
                f"  would download {sum(planned.values())} of {report.listed} works"
                + (f" ({kinds})" if kinds else "")
            )
            return
        self.say(
            f"  listed {report.listed}, downloaded {report.downloaded} "
            f"({_size(report.bytes_downloaded)}), skipped {report.skipped}, "
            f"failed {len(report.failed)}"
        )
        present = report.skipped - report.unavailable
        why = [f"{present} already complete"] if present > 0 else []
        if report.unavailable:
            why.append(f"{report.unavailable} not offered as {self.file_type or 'asked'}")
        if why:
            self.say(f"  skipped: {', '.join(why)}")
        if report.replaced:
            replaced = _count(report.replaced, "file")
            self.say(f"  fetched again: {replaced} that did not match the manifest")
        if report.stale_parts_removed:
            self.say(f"  removed {_count(report.stale_parts_removed, 'partial file')}")
        self.say(f"  manifest: {out / MANIFEST_NAME}")

    def _table(self, report: ExportReport) -> Table:
        """One row per account, and the total when there are several."""
        # Without a terminal, ASCII lines: a log or a CI page shows them as they are.
        lines = box.SIMPLE_HEAD if self.console.is_terminal else box.ASCII2
        table = Table(box=lines, show_footer=len(report.accounts) > 1)
        if report.dry_run:
            kinds = sorted(report.planned)
            columns = ["listed", "skipped", *kinds]
            rows = [
                (a.account, [a.listed, a.skipped, *(a.planned.get(kind, 0) for kind in kinds)])
                for a in report.accounts.values()
            ]
        else:
            columns = ["listed", "downloaded", "skipped", "failed", "bytes"]
            rows = [
                (a.account, [a.listed, a.downloaded, a.skipped, a.failed, a.bytes])
                for a in report.accounts.values()
            ]
        totals = [sum(values[i] for _, values in rows) for i in range(len(columns))]
        table.add_column("account", footer="total")
        for index, name in enumerate(columns):
            shown = _size(totals[index]) if name == "bytes" else str(totals[index])
            table.add_column(name, footer=shown, justify="right", no_wrap=True)
        for account, values in rows:
            cells = [
                _size(value) if name == "bytes" else str(value)
                for name, value in zip(columns, values, strict=True)
            ]
            name = self._hide(_account(account))
            if not report.accounts[account].listing_complete:
                name += " (listing stopped)"
            table.add_row(name, *cells)
        return table

    def _failures(self, report: ExportReport) -> None:
        for listing in report.listing_failures:
            self.say(
                f"Listing {_account(listing.account)} stopped at page {listing.page_num}: "
                f"{listing.reason}"
            )
        if not report.failed:
            return
        failed_file = report.out_dir / FAILED_NAME
        self.say(f"Failed works ({len(report.failed)}, all in {failed_file}):")
        for failure in report.failed[:FAILURES_SHOWN]:
            account = f" ({failure.account})" if failure.account else ""
            self.say(f"  {failure.work_id}{account}: {failure.reason}")
        more = len(report.failed) - FAILURES_SHOWN
        if more > 0:
            self.say(f"  ... and {more} more, see {failed_file}")


def stderr_console() -> Console:
    """The console progress and summaries go to: the process's stderr, as it is when called."""
    return Console(file=sys.stderr)


def _account(account: str | None) -> str:
    return account if account is not None else "the default account"


def _count(n: int, thing: str) -> str:
    """``"1 account"``, ``"3 accounts"``."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _size(count: float) -> str:
    """A byte count for people: ``"4.1 MB"``."""
    unit = "B"
    for bigger in ("kB", "MB", "GB", "TB"):
        if abs(count) < 1000:
            break
        count /= 1000
        unit = bigger
    return f"{count:.0f} B" if unit == "B" else f"{count:.1f} {unit}"


def _duration(seconds: float) -> str:
    """``"0:01:05"``."""
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
