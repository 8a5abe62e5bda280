"""How ``kling-async export`` and ``demo`` show an export: rich progress bars, then a summary.

Only the commands that show an export import this module (rich is the ``cli`` extra).
Everything goes to stderr: two bars (listing, downloading) on a terminal; without one, or with
``--quiet``, no bars. The summary follows (unless quiet), then every failure (always).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from types import TracebackType

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

from .._export import ExportProgress, ExportReport, Outcome
from .._redact import redact_text

__all__ = ["ExportView", "stderr_console"]


class ExportView(ExportProgress):
    """Progress bars on a terminal (stderr), a line or two otherwise, and the summary."""

    def __init__(
        self,
        *,
        quiet: bool,
        file_type: str | None = None,
        console: Console | None = None,
        secrets: Sequence[str | None] = (),
    ) -> None:
        self.console = console if console is not None else stderr_console()
        self.secrets = tuple(secrets)
        self.quiet = quiet
        self.file_type = file_type
        self.bars: Progress | None = None
        self.listing: TaskID | None = None
        self.downloads: TaskID | None = None
        self.accounts = 0
        self.pages = 0
        self.bytes = 0
        self.started = time.perf_counter()

    def __enter__(self) -> ExportView:
        if not self.quiet and self.console.is_terminal:
            self.bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.description:<11}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.bars is not None:
            self.bars.stop()

    def note(self, text: str) -> None:
        """Print a line, unless quiet."""
        if not self.quiet:
            self.say(text)

    def say(self, text: str) -> None:
        """Print text as it is (tokens hidden): no markup, no highlighting, no wrapping."""
        text = redact_text(text, *self.secrets)
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def listing_started(self, accounts: int) -> None:
        self.accounts = accounts
        self.started = time.perf_counter()
        if self.bars is not None:
            self.listing = self.bars.add_task("Listing", total=None, detail="")
            self.downloads = self.bars.add_task("Downloading", total=0, detail="")

    def page_listed(self, account: str | None, page_num: int, new_works: int) -> None:
        self.pages += 1
        if self.bars is not None and self.listing is not None and self.downloads is not None:
            detail = f"{self.pages} pages, {self.accounts} accounts"
            self.bars.update(self.listing, advance=new_works, detail=detail)
            total = self.bars.tasks[self.downloads].total or 0
            self.bars.update(self.downloads, total=total + new_works)

    def listing_finished(self, works: int) -> None:
        if self.bars is not None and self.listing is not None:
            self.bars.update(self.listing, total=works, completed=works)
        else:
            self.note(f"Listed {works} works of {self.accounts} account(s).")

    def bytes_received(self, count: int) -> None:
        self.bytes += count
        if self.bars is not None and self.downloads is not None:
            speed = self.bytes / max(time.perf_counter() - self.started, 1e-3)
            detail = f"{_size(self.bytes)}, {_size(speed)}/s"
            self.bars.update(self.downloads, detail=detail)

    def work_finished(self, work_id: int | None, outcome: Outcome) -> None:
        if self.bars is not None and self.downloads is not None:
            self.bars.update(self.downloads, advance=1)

    def summary(self, report: ExportReport) -> None:
        """The counts (unless quiet), then every failure (always)."""
        if not self.quiet:
            present = report.skipped - report.unavailable
            why = [f"{present} already there"] if present else []
            if report.recovered:
                why.append(f"{report.recovered} of them without a manifest line")
            if report.unavailable:
                why.append(f"{report.unavailable} not offered as {self.file_type}")
            lines = [
                f"Export to {report.out_dir} took {report.elapsed:.1f} s:",
                f"  listed      {report.listed:>6} works",
                f"  downloaded  {report.downloaded:>6} ({_size(report.bytes_downloaded)})",
                f"  skipped     {report.skipped:>6}" + (f" ({', '.join(why)})" if why else ""),
                f"  failed      {len(report.failed):>6}",
                f"  manifest    {report.manifest_path}",
            ]
            if report.stale_parts_removed:
                lines.append(f"  removed {report.stale_parts_removed} partial file(s)")
            self.say("\n".join(lines))
        for listing in report.listing_failures:
            account = listing.account or "the default account"
            self.say(f"Listing {account} stopped at page {listing.page_num}: {listing.reason}")
        if report.failed:
            self.say(f"Failed works ({len(report.failed)}):")
            for failure in report.failed:
                account = f" ({failure.account})" if failure.account else ""
                self.say(f"  {failure.work_id}{account}: {failure.reason}")


def stderr_console() -> Console:
    """The console progress and summaries go to: the process's stderr, as it is when called."""
    return Console(file=sys.stderr)


def _size(count: float) -> str:
    """A byte count for people: ``"4.1 MB"``."""
    unit = "B"
    for bigger in ("kB", "MB", "GB"):
        if abs(count) < 1000:
            break
        count /= 1000
        unit = bigger
    return f"{count:.0f} B" if unit == "B" else f"{count:.1f} {unit}"
