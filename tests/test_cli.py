"""The ``kling-async`` command line, end to end against the fake server.

`main` runs its own event loop (``anyio.run``), so the fake server runs in a thread of its own
(an anyio blocking portal); the tests call `main` in-process, and run the console script as a
real subprocess where the process boundary matters (exit codes, Ctrl-C).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import os
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, get_args

import anyio
import anyio.from_thread
import orjson
import pytest
from rich.console import Console

from kling_async import ContentType, FileType, HTTPBackend, SortOrder, cli
from kling_async._redact import redact_text
from kling_async.cli import _commands, _view, build_parser
from kling_async.export import AccountReport, ExportReport, FailedWork
from kling_async.testing import FakeKlingServer, Fault, TaskRecord, expected_file_bytes

BY_CONTENT_TYPE = {"video": "MP4", "image": "PNG", "audio": "MP3"}


@pytest.fixture
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as running:
        yield running


@pytest.fixture
def fake(portal: anyio.from_thread.BlockingPortal) -> Iterator[FakeKlingServer]:
    """Two accounts of 12 works each, served from a thread of its own."""
    server = FakeKlingServer(
        accounts=2, works_per_account=12, uploads_per_account=6, elements_per_account=2, seed=5
    )
    with portal.wrap_async_context_manager(server):
        yield server


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)


class Run:
    """One finished command: status and captured output, checked never to show the token."""

    def __init__(self, status: int, out: str, err: str, secret: str | None) -> None:
        self.status, self.out, self.err = status, out, err
        if secret:
            assert secret not in out
            assert secret not in err

    def json(self) -> Any:
        return orjson.loads(self.out)


@pytest.fixture
def kling(
    fake: FakeKlingServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Run ``kling-async`` in-process against the fake, the token in USEAPI_TOKEN."""
    monkeypatch.setenv("USEAPI_TOKEN", fake.token)

    def run(*args: str) -> Run:
        capsys.readouterr()
        status = cli.main(["--base-url", fake.base_url, "--max-retries", "0", *args])
        out, err = capsys.readouterr()
        return Run(status, out, err, fake.token)

    return run


def all_works(fake: FakeKlingServer) -> dict[int, tuple[str, TaskRecord]]:
    """Every work of the fake: work ID -> (account email, its task)."""
    return {
        work_id: (account.email, task)
        for account in fake.data
        for task in account.tasks
        for work_id in task.work_ids
    }


def relative_path(email: str, work_id: int, task: TaskRecord) -> str:
    return f"{email}/{work_id}.{BY_CONTENT_TYPE[task.content_type].lower()}"


def read_manifest(out: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (out / "manifest.jsonl").read_bytes().splitlines()]


def download_requests(fake: FakeKlingServer) -> list[int]:
    return [
        int(request.query["workIds"])
        for request in fake.requests
        if request.api_path == "/assets/download"
    ]


def table_rows(text: str) -> list[list[str]]:
    """The rows of the per-account table in plain (ASCII) output, header first."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def export_args(fake: FakeKlingServer, out: Path, *extra: str) -> list[str]:
    emails = [arg for email in fake.emails for arg in ("--email", email)]
    return ["export", str(out), *emails, *extra]


# -- export ---------------------------------------------------------------------------------------


def test_export_writes_every_work_byte_for_byte_with_a_manifest(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    works = all_works(fake)

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 0, run.err
    for work_id, (email, task) in works.items():
        file = tmp_path / relative_path(email, work_id, task)
        assert file.read_bytes() == expected_file_bytes(work_id, BY_CONTENT_TYPE[task.content_type])
    assert not list(tmp_path.rglob("*.part"))
    assert f"listed {len(works)} works" in " ".join(run.err.split())


def test_export_without_email_exports_every_account(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    run = kling("export", str(tmp_path), "--json")

    assert run.status == 0, run.err
    assert [account["account"] for account in run.json()["accounts"]] == list(fake.emails)
    assert {line["work_id"] for line in read_manifest(tmp_path)} == set(all_works(fake))


def test_manifest_has_one_complete_line_per_work(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    works = all_works(fake)

    assert kling(*export_args(fake, tmp_path)).status == 0

    lines = read_manifest(tmp_path)
    assert sorted(line["work_id"] for line in lines) == sorted(works)
    for line in lines:
        email, task = works[line["work_id"]]
        index = line["work_id"] - task.first_work_id
        data = (tmp_path / line["path"]).read_bytes()
        assert line == {
            "account": email,
            "work_id": line["work_id"],
            "content_type": task.content_type,
            "file_type": BY_CONTENT_TYPE[task.content_type],
            "prompt": task.prompt,
            "created_at": line["created_at"],
            "path": relative_path(email, line["work_id"], task),
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        created = datetime.fromisoformat(line["created_at"].replace("Z", "+00:00"))
        expected_ms = task.create_time + 16 + index
        assert created == datetime.fromtimestamp(expected_ms / 1000, tz=timezone.utc)


def test_rerun_skips_every_work_without_downloading(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    assert kling(*export_args(fake, tmp_path)).status == 0
    before = (tmp_path / "manifest.jsonl").read_bytes()
    fake.reset_stats()

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 0
    assert download_requests(fake) == []
    assert not [r for r in fake.requests if r.path.startswith("/_cdn/")]
    assert (tmp_path / "manifest.jsonl").read_bytes() == before
    assert "skipped" in run.err
    assert f"resuming: {len(all_works(fake))} already complete" in run.err
    assert f"skipped: {len(all_works(fake))} already complete" in run.err


def test_failed_downloads_exit_1_and_are_listed_with_their_reason(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    fake.add_faults(Fault.status(503), Fault.status(596), path="/assets/download")
    fake.add_faults(Fault.status(500, path="/_cdn/works/"))

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 1
    exported = {line["work_id"] for line in read_manifest(tmp_path)}
    failed = set(all_works(fake)) - exported
    assert len(failed) == 3
    assert f"Failed works (3, all in {tmp_path / 'failed.jsonl'}):" in run.err
    for work_id in failed:
        assert str(work_id) in run.err
    assert "503 Service temporarily unavailable" in run.err
    assert "596 Kling account session was rejected" in run.err
    assert "500 Internal Server Error from the CDN (GET http" in run.err
    lines = run.err.splitlines()
    for work_id in failed:  # one line each, however long
        (line,) = [line for line in lines if line.startswith(f"  {work_id} (")]
        assert line.endswith(")")  # the request, at the end of the same line
    assert "failed 3" in " ".join(run.err.split())


def test_rerun_after_failures_fetches_exactly_the_missing_works(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    fake.add_faults(*[Fault.drop()] * 2, path="/assets/download")
    fake.add_faults(Fault.status(404, path="/_cdn/works/"))
    assert kling(*export_args(fake, tmp_path)).status == 1
    missing = set(all_works(fake)) - {line["work_id"] for line in read_manifest(tmp_path)}
    assert len(missing) == 3
    fake.reset_stats()

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 0, run.err
    assert sorted(download_requests(fake)) == sorted(missing)
    lines = read_manifest(tmp_path)
    assert sorted(line["work_id"] for line in lines) == sorted(all_works(fake))


def test_rerun_cleans_part_files_and_fetches_files_without_a_manifest_line_again(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    works = all_works(fake)
    assert kling(*export_args(fake, tmp_path)).status == 0
    lines = read_manifest(tmp_path)
    # An interrupted run: a partial file, a file renamed without its manifest line, a file
    # deleted by hand, and a manifest whose last line was cut short.
    kept, unlisted, deleted = lines[2:], lines[0], lines[1]
    (tmp_path / deleted["path"]).unlink()
    part = (tmp_path / deleted["path"]).with_name(f".{Path(deleted['path']).name}.part")
    part.write_bytes(b"partial")
    text = b"".join(orjson.dumps(line) + b"\n" for line in kept) + b'{"account": "x'
    (tmp_path / "manifest.jsonl").write_bytes(text)
    fake.reset_stats()

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 0, run.err
    assert sorted(download_requests(fake)) == sorted([deleted["work_id"], unlisted["work_id"]])
    assert not part.exists()
    assert "removed 1 partial file" in run.err
    assert "fetched again: 1 file that did not match the manifest" in run.err
    assert f"resuming: {len(kept)} of {len(works)} already complete" in run.err
    final = read_manifest(tmp_path)
    assert sorted(line["work_id"] for line in final) == sorted(works)
    assert {line["path"]: line for line in final}[unlisted["path"]] == unlisted


def test_listing_failure_of_one_account_is_reported_and_the_other_is_exported(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    broken, healthy = fake.emails
    # The first call checks the token (it passes); the next is the broken account's page 1.
    fake.add_faults(Fault.delay(0), Fault.status(596), path="/assets", method="GET")

    run = kling(
        "export", str(tmp_path), "--email", broken, "--email", healthy, "--concurrency", "1"
    )

    assert run.status == 1
    assert f"Listing {broken} stopped at page 1: 596" in run.err
    accounts = {line["account"] for line in read_manifest(tmp_path)}
    assert accounts == {healthy}


def test_export_with_a_file_type_skips_works_that_do_not_offer_it(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    works = all_works(fake)
    offering = {work_id for work_id, (_, task) in works.items() if "WAV" in task.file_types}

    run = kling(*export_args(fake, tmp_path, "--file-type", "wav"))

    assert run.status == 0, run.err
    lines = read_manifest(tmp_path)
    assert {line["work_id"] for line in lines} == offering
    assert all(line["path"].endswith(".wav") for line in lines)
    assert f"{len(works) - len(offering)} not offered as WAV" in run.err


def test_export_of_one_content_type(fake: FakeKlingServer, kling: Any, tmp_path: Path) -> None:
    run = kling(*export_args(fake, tmp_path, "--content-type", "IMAGE", "-q"))

    assert run.status == 0
    assert run.err == ""
    images = {w for w, (_, task) in all_works(fake).items() if task.content_type == "image"}
    assert {line["work_id"] for line in read_manifest(tmp_path)} == images


def test_export_runs_on_trio(fake: FakeKlingServer, kling: Any, tmp_path: Path) -> None:
    run = kling("--backend", "trio", *export_args(fake, tmp_path))

    assert run.status == 0, run.err
    assert len(read_manifest(tmp_path)) == len(all_works(fake))


def test_export_shows_progress_bars_on_a_terminal(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(_view, "stderr_console", lambda: terminal)

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 0
    shown = screen.getvalue()
    assert "Listing" in shown
    assert "Downloading" in shown
    assert f"{len(all_works(fake))}/{len(all_works(fake))}" in shown
    assert fake.token not in shown


def test_export_without_rich_says_which_extra_to_install(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich.console", None)
    monkeypatch.delitem(sys.modules, "kling_async.cli._view")

    run = kling("export", str(tmp_path))

    assert run.status == 1
    assert "pip install 'kling-async[cli]'" in run.err
    assert fake.requests == []


def test_export_into_a_file_is_a_one_line_error(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    run = kling(*export_args(fake, blocker))

    assert run.status == 1
    assert run.err.startswith("kling-async: error: ")
    assert run.err.count("\n") == 1


def test_export_json_prints_only_the_report_on_stdout(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    run = kling(*export_args(fake, tmp_path, "--json"))

    assert run.status == 0, run.err
    report = run.json()
    assert report["ok"] is True
    assert report["downloaded"] == len(all_works(fake))
    assert [account["account"] for account in report["accounts"]] == list(fake.emails)
    for account in report["accounts"]:
        assert account["listed"] == account["downloaded"] == 12
        assert account["bytes"] > 0
    assert "Export to" not in run.err  # the summary is the JSON's
    assert table_rows(run.err) == []


def test_export_json_with_failures_lists_them_and_exits_1(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    fake.add_faults(Fault.status(500), path="/assets/download")

    run = kling(*export_args(fake, tmp_path, "--json"))

    assert run.status == 1
    report = run.json()
    assert report["ok"] is False
    assert report["failed"] == 1
    (failure,) = report["failures"]
    assert failure["reason"].startswith("500 Internal server error")
    failed_file = orjson.loads((tmp_path / "failed.jsonl").read_bytes())
    assert failed_file["work_id"] == failure["work_id"]


def test_export_lists_the_first_failures_and_points_to_failed_jsonl_for_the_rest(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    fake.set_fault_rate(1.0, [Fault.status(500)], path="/assets/download")

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 1
    failed = len(all_works(fake))
    shown = [line for line in run.err.splitlines() if line.startswith("  ") and ": 500 " in line]
    assert len(shown) == _view.FAILURES_SHOWN
    more = failed - _view.FAILURES_SHOWN
    assert f"  ... and {more} more, see {tmp_path / 'failed.jsonl'}" in run.err
    assert len((tmp_path / "failed.jsonl").read_bytes().splitlines()) == failed


def test_export_summary_has_a_table_per_account(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    fake.add_faults(Fault.status(500), path="/assets/download")

    run = kling(*export_args(fake, tmp_path))

    assert run.status == 1
    rows = table_rows(run.err)
    assert rows[0] == ["account", "listed", "downloaded", "skipped", "failed", "bytes"]
    by_account = {row[0]: row[1:5] for row in rows[1:]}
    first, second = fake.emails
    assert sorted([by_account[first], by_account[second]]) == [
        ["12", "11", "0", "1"],
        ["12", "12", "0", "0"],
    ]
    assert by_account["total"] == ["24", "23", "0", "1"]


def test_dry_run_counts_what_would_be_downloaded_and_writes_nothing(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    by_type: dict[str, int] = {}
    for _, task in all_works(fake).values():
        kind = BY_CONTENT_TYPE[task.content_type]
        by_type[kind] = by_type.get(kind, 0) + 1

    run = kling(*export_args(fake, out, "--dry-run"))

    assert run.status == 0, run.err
    assert not out.exists()
    assert download_requests(fake) == []
    assert f"Dry run: nothing was written to {out}" in run.err
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(by_type.items()))
    assert f"would download {len(all_works(fake))} of {len(all_works(fake))} works ({kinds})" in (
        run.err
    )
    rows = table_rows(run.err)
    assert rows[0] == ["account", "listed", "skipped", *sorted(by_type)]
    assert rows[-1] == ["total", "24", "0", *[str(by_type[kind]) for kind in sorted(by_type)]]


def test_dry_run_json_has_the_plan_per_account(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    assert kling(*export_args(fake, tmp_path / "half", "--content-type", "image")).status == 0

    run = kling(*export_args(fake, tmp_path / "half", "--dry-run", "--json"))

    assert run.status == 0, run.err
    assert "already exported: " in run.err
    assert "resuming" not in run.err
    report = run.json()
    assert report["dry_run"] is True
    assert "PNG" not in report["planned"]
    assert sum(report["planned"].values()) + report["skipped"] == len(all_works(fake))
    for account in report["accounts"]:
        assert sum(account["planned"].values()) + account["skipped"] == 12


def test_since_exports_only_works_created_at_or_after_it(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    works = all_works(fake)
    times = sorted({task.create_time for _, task in works.values()})
    cut = times[len(times) // 2]  # milliseconds; works of a task share its time, plus a little
    since = datetime.fromtimestamp(cut / 1000, tz=timezone.utc).replace(tzinfo=None)
    recent = {
        work_id
        for work_id, (_, task) in works.items()
        if task.create_time + 16 + (work_id - task.first_work_id) >= cut
    }

    run = kling(*export_args(fake, tmp_path, "--since", since.isoformat(timespec="milliseconds")))

    assert run.status == 0, run.err
    assert 0 < len(recent) < len(works)
    assert {line["work_id"] for line in read_manifest(tmp_path)} == recent


def test_new_only_rerun_stops_listing_at_the_first_exported_page(
    portal: anyio.from_thread.BlockingPortal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = FakeKlingServer(accounts=1, works_per_account=100, uploads_per_account=0, seed=3)
    with portal.wrap_async_context_manager(big):
        monkeypatch.setenv("USEAPI_TOKEN", big.token)
        args = ["--base-url", big.base_url, "export", str(tmp_path), "--concurrency", "1"]

        def pages_listed() -> list[str]:
            return [r.query["pageNum"] for r in big.requests if r.api_path == "/assets"]

        assert cli.main([*args, "-q"]) == 0
        assert pages_listed() == ["1", "2", "3"]  # 100 works, 40 a page
        big.reset_stats()

        assert cli.main([*args, "-q", "--new-only"]) == 0

        pages = pages_listed()  # page 2 may be asked for already, never page 3
        assert pages[0] == "1"
        assert "3" not in pages


def test_verify_option_fetches_a_file_changed_in_place_again(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    assert kling(*export_args(fake, tmp_path)).status == 0
    line = read_manifest(tmp_path)[0]
    file = tmp_path / line["path"]
    file.write_bytes(bytes(b ^ 1 for b in file.read_bytes()))  # same size, other bytes
    fake.reset_stats()

    plain = kling(*export_args(fake, tmp_path, "--json"))
    verified = kling(*export_args(fake, tmp_path, "--verify", "--json"))

    assert plain.json()["downloaded"] == 0  # a size check does not see it
    assert verified.json()["downloaded"] == 1
    assert download_requests(fake) == [line["work_id"]]
    assert hashlib.sha256(file.read_bytes()).hexdigest() == line["sha256"]


@pytest.mark.parametrize(
    ("status", "hint"),
    [(401, "check USEAPI_TOKEN (or --token)"), (402, "and its useapi.net subscription")],
)
@pytest.mark.parametrize("emails", [True, False], ids=["with-emails", "every-account"])
def test_a_refused_first_call_stops_the_export_before_anything_is_written(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, status: int, hint: str, emails: bool
) -> None:
    # With emails the first call is a page of the first; without, GET /accounts.
    fake.add_faults(Fault.status(status), path="/assets" if emails else "/accounts")
    out = tmp_path / "out"

    run = kling(*export_args(fake, out)) if emails else kling("export", str(out))

    assert run.status == 1
    assert run.err.startswith(f"kling-async: error: {status} ")
    assert hint in run.err
    assert run.err.count("\n") == 1
    assert not out.exists()
    assert len(fake.requests) == 1


def test_resume_command_is_the_command_line_without_the_token() -> None:
    argv = ["--token", "s3cret-value", "export", "my works", "--email", "a@x.io", "--token=t0k"]

    assert _commands.resume_command(argv) == "kling-async export 'my works' --email a@x.io"


# -- the view without a terminal ------------------------------------------------------------------


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def plain_view(**options: Any) -> tuple[_view.ExportView, io.StringIO, Clock]:
    screen = io.StringIO()
    clock = Clock()
    console = Console(file=screen, force_terminal=False, width=80)
    return _view.ExportView(console=console, clock=clock, **options), screen, clock


def a_report(out: Path, **options: Any) -> ExportReport:
    accounts = {
        "a@example.com": AccountReport("a@example.com", 60, 50, 8, 2, 5_000_000),
        "b@example.com": AccountReport("b@example.com", 40, 40, 0, 0, 3_000_000),
    }
    failed = [FailedWork("a@example.com", 1000 + n, f"500 broken {n}") for n in range(2)]
    return ExportReport(out, accounts, failed, already_complete=8, elapsed=12.5, **options)


def test_the_view_without_a_terminal_prints_plain_lines(tmp_path: Path) -> None:
    view, screen, clock = plain_view()
    accounts = ["a@example.com", "b@example.com"]

    with view:
        view.export_started(tmp_path, accounts, already_complete=8)
        view.page_listed("a@example.com", 1, 40)
        view.page_listed("b@example.com", 1, 40)
        view.account_listed("b@example.com", 40, complete=True)
        view.page_listed("a@example.com", 2, 20)
        view.account_listed("a@example.com", 60, complete=True)
        view.listing_finished(100)
        for n in range(100):
            clock.now += 0.01
            view.bytes_received(80_000)
            view.work_finished("a@example.com", n, "skipped" if n < 8 else "downloaded", 80_000)
        view.export_finished(a_report(tmp_path))
    view.summary(a_report(tmp_path))

    shown = screen.getvalue()
    assert "\x1b" not in shown
    assert "\r" not in shown
    lines = shown.splitlines()
    assert lines[:6] == [
        f"Exporting 2 accounts to {tmp_path}.",
        "resuming: 8 already complete",
        "listed b@example.com: 40 works",
        "listed a@example.com: 60 works",
        "listed 100 works of 2 accounts",
        "resuming: 8 of 100 already complete",
    ]
    progress = [line for line in lines if line.startswith(tuple(f"{n}/100 " for n in range(101)))]
    assert len(progress) == 10  # one per 10%, no more
    assert progress[-1].startswith("100/100 works (100%): 92 downloaded, 8 skipped, 0 failed; ")
    assert "works/s" in progress[0]
    assert "ETA" in progress[0]
    assert "Export to" in shown
    assert "Failed works (2, all in" in shown
    assert "  1000 (a@example.com): 500 broken 0" in lines
    rows = table_rows(shown)
    assert rows[1] == ["a@example.com", "60", "50", "8", "2", "5.0 MB"]
    assert rows[-1] == ["total", "100", "90", "8", "2", "8.0 MB"]


def test_the_view_without_a_terminal_prints_a_line_every_few_seconds_while_listing(
    tmp_path: Path,
) -> None:
    view, screen, clock = plain_view()

    with view:
        view.export_started(tmp_path, ["a@example.com"], already_complete=0)
        for page in range(1, 31):
            view.page_listed("a@example.com", page, 40)
            clock.now += 1.0
            view.work_finished("a@example.com", page, "downloaded", 10)

    progress = [line for line in screen.getvalue().splitlines() if "listed so far" in line]
    assert len(progress) == 30 // int(_view.LINE_EVERY)
    assert progress[0].startswith("5 works of 200 listed so far: 5 downloaded, 0 skipped")
    assert "ETA" not in progress[0]  # the total is not known yet


def test_the_quiet_view_prints_only_failures(tmp_path: Path) -> None:
    view, screen, _ = plain_view(quiet=True)

    with view:
        view.export_started(tmp_path, ["a@example.com"], already_complete=3)
        view.page_listed("a@example.com", 1, 40)
        view.listing_finished(40)
    view.summary(a_report(tmp_path))

    assert screen.getvalue().splitlines() == [
        f"Failed works (2, all in {tmp_path / 'failed.jsonl'}):",
        "  1000 (a@example.com): 500 broken 0",
        "  1001 (a@example.com): 500 broken 1",
    ]


def test_the_interrupted_summary_says_how_to_resume(tmp_path: Path) -> None:
    view, screen, _ = plain_view()

    view.summary(a_report(tmp_path, interrupted=True), resume="kling-async export out")

    shown = screen.getvalue()
    assert shown.startswith("Interrupted after 12.5 s; the counts so far:\n")
    assert shown.endswith("resume with: kling-async export out\n")


def test_the_view_hides_the_token(tmp_path: Path) -> None:
    view, screen, _ = plain_view(secrets=["s3cret-t0ken"])
    report = a_report(tmp_path)
    report.failed = [FailedWork("a@example.com", 1, "echoed s3cret-t0ken and user:1-Abc")]

    view.summary(report)

    assert "s3cret" not in screen.getvalue()
    assert "user:1-Abc" not in screen.getvalue()
    assert "echoed *** and ***" in screen.getvalue()


# -- verify ---------------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path in the folder with its size and mtime."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
    }


def test_verify_on_a_complete_export_exits_0_without_a_token(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert kling(*export_args(fake, tmp_path)).status == 0
    before = snapshot(tmp_path)
    monkeypatch.delenv("USEAPI_TOKEN")

    run = kling("verify", str(tmp_path))

    assert run.status == 0, run.out
    assert f"{len(all_works(fake))} manifest entries checked: 0 missing, 0 changed" in run.out
    assert run.out.endswith("ok: the folder matches its manifest\n")
    assert snapshot(tmp_path) == before


def test_verify_lists_missing_changed_and_unexpected_files_and_writes_nothing(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    assert kling(*export_args(fake, tmp_path)).status == 0
    deleted, changed = read_manifest(tmp_path)[:2]
    (tmp_path / deleted["path"]).unlink()
    (tmp_path / changed["path"]).write_bytes(b"other bytes")
    stray = Path(changed["path"]).parent / "stray.mp4"
    (tmp_path / stray).write_bytes(b"not exported")
    before = snapshot(tmp_path)
    fake.reset_stats()

    run = kling("verify", str(tmp_path))

    assert run.status == 1
    assert "1 missing, 1 changed, 1 unexpected" in run.out
    assert f"missing (1):\n  {deleted['path']}\n" in run.out
    assert f"changed (1):\n  {changed['path']}\n" in run.out
    assert f"unexpected (1):\n  {stray.as_posix()}\n" in run.out
    assert snapshot(tmp_path) == before
    assert fake.requests == []


def test_verify_json_prints_the_report(fake: FakeKlingServer, kling: Any, tmp_path: Path) -> None:
    assert kling(*export_args(fake, tmp_path)).status == 0
    deleted = read_manifest(tmp_path)[0]
    (tmp_path / deleted["path"]).unlink()

    run = kling("verify", str(tmp_path), "--json")

    assert run.status == 1
    assert run.json()["missing"] == [deleted["path"]]
    assert run.json()["checked"] == len(all_works(fake))
    assert run.json()["ok"] is False


def test_verify_without_a_manifest_exits_2(kling: Any, tmp_path: Path) -> None:
    before = snapshot(tmp_path)

    run = kling("verify", str(tmp_path))

    assert run.status == 2
    assert run.err.startswith("kling-async: error: ")
    assert run.err.count("\n") == 1
    assert snapshot(tmp_path) == before


# -- the read-only commands and uploads delete ----------------------------------------------------


def test_assets_list_prints_one_page_in_wire_form(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]

    run = kling("assets", "list", "--email", account.email, "--page-size", "2", "--page", "2")

    assert run.status == 0
    page = run.json()
    assert [entry["task"]["id"] for entry in page["history"]] == [
        task.task_id for task in account.tasks[2:4]
    ]
    assert "workId" in page["history"][0]["works"][0]


def test_uploads_list_filters_by_content_type_and_name(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[1]
    upload = account.uploads[0]
    keyword = upload.name.split("_")[1][:6]

    run = kling("uploads", "list", "--email", account.email, "--file-name", keyword,
                "--content-type", upload.content_type)  # fmt: skip

    assert run.status == 0
    assert [item["id"] for item in run.json()["uploadAssetsList"]] == [upload.id]


def test_elements_get_prints_the_element(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    element = account.elements[0]

    run = kling("elements", "get", element.id, "--email", account.email)

    assert run.status == 0
    assert run.json()["id"] == element.id
    assert run.json()["name"] == element.name


def test_an_api_error_is_one_line_on_stderr_and_exit_1(fake: FakeKlingServer, kling: Any) -> None:
    run = kling("elements", "get", "u_0", "--email", fake.emails[0])

    assert run.status == 1
    assert run.out == ""
    assert run.err == "kling-async: error: 404 Element u_0 not found " + (
        f"(GET {fake.base_url}/elements/u_0)\n"
    )


def test_uploads_delete_prints_what_was_deleted(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    ids = [upload.id for upload in account.uploads[:3]]

    run = kling("uploads", "delete", "--email", account.email, *ids, "12345", "--yes")

    assert run.status == 0
    assert run.json() == {"deleted": ids, "unconfirmed": ["12345"], "failed": []}
    assert account.deleted_upload_ids == set(ids)


def test_uploads_delete_with_a_failed_call_exits_1(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    ids = [upload.id for upload in account.uploads[:2]]
    fake.add_faults(Fault.status(500), path="/assets/uploaded", method="DELETE")

    run = kling("uploads", "delete", "--email", account.email, *ids, "--yes")

    assert run.status == 1
    assert run.json()["deleted"] == []
    assert run.json()["failed"] == [{"ids": ids, "error": run.json()["failed"][0]["error"]}]
    assert run.json()["failed"][0]["error"].startswith("500 Internal server error")


def test_uploads_delete_rejects_a_bad_id_before_any_request(
    fake: FakeKlingServer, kling: Any
) -> None:
    run = kling("uploads", "delete", "--email", fake.emails[0], "123", "12a")

    assert run.status == 2
    assert (
        run.err == "kling-async: error: ID: '12a' is not a numeric ID (ASCII digits, at most 40)\n"
    )
    assert fake.requests == []


def test_uploads_delete_needs_an_email(fake: FakeKlingServer, kling: Any) -> None:
    run = kling("uploads", "delete", "123")

    assert run.status == 2
    assert "--email" in run.err
    assert fake.requests == []


# -- tokens, usage, exit codes --------------------------------------------------------------------


def test_a_missing_token_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["assets", "list"]) == 2
    assert "USEAPI_TOKEN" in capsys.readouterr().err


def test_a_wrong_token_is_rejected_without_being_shown(
    fake: FakeKlingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "user:12345-WrongTokenWrongToken"

    status = cli.main(["--token", wrong, "--base-url", fake.base_url, "elements", "get", "u_1"])

    out, err = capsys.readouterr()
    assert status == 1
    assert "401 Unauthorized" in err
    assert "check USEAPI_TOKEN" in err
    assert wrong not in out + err


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["export", "--help"],
        ["demo", "--help"],
        ["uploads", "delete", "--help"],
        ["uploads", "add", "--help"],
        ["tasks", "list", "--help"],
        ["tasks", "delete", "--help"],
        ["elements", "list", "--help"],
        ["scheduler", "available", "--help"],
        ["fake-server", "--help"],
    ],
)
def test_help_exits_0_and_never_shows_the_token(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USEAPI_TOKEN", "user:99999-SecretSecretSecret")

    assert cli.main(["--token", "user:99999-SecretSecretSecret", *args]) == 0

    out, err = capsys.readouterr()
    assert "usage: kling-async" in out
    assert "Secret" not in out + err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["export"],
        ["export", "out", "--concurrency", "0"],
        ["export", "out", "--file-type", "GIF"],
        ["assets", "list", "--page", "x"],
        ["--max-retries", "-1", "assets", "list"],
        ["export", "out", "--email", "not-an-email"],
    ],
)
def test_usage_errors_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USEAPI_TOKEN", "user:99999-SecretSecretSecret")

    assert cli.main(args) == 2

    err = capsys.readouterr().err
    assert "error" in err
    assert "Secret" not in err


def test_an_unreachable_api_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USEAPI_TOKEN", "user:99999-SecretSecretSecret")
    url = "http://127.0.0.1:9/v1/kling"

    status = cli.main(["--base-url", url, "--max-retries", "0", "elements", "get", "u_1"])

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("kling-async: error: ConnectError on GET")
    assert err.count("\n") == 1


def test_global_options_also_work_after_the_command(
    fake: FakeKlingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    account = fake.data.accounts[0]
    element = account.elements[0]
    args = ["--token", fake.token, "--base-url", fake.base_url, "--backend", "trio"]

    status = cli.main(["elements", "get", element.id, "--email", account.email, *args])

    out, err = capsys.readouterr()
    assert status == 0, err
    assert orjson.loads(out)["id"] == element.id


def test_redact_hides_tokens_and_anything_shaped_like_one() -> None:
    assert redact_text("bad s3cret here", "s3cret") == "bad *** here"
    assert redact_text("see user:123-AbC9 now") == "see *** now"
    assert redact_text("nothing to hide", None, "") == "nothing to hide"


@pytest.mark.parametrize(
    "args",
    [
        ["assets", "list", "--tokne=not-shaped-like-a-token"],
        ["--tokne", "not-shaped-like-a-token", "assets", "list"],
        ["--t=not-shaped-like-a-token", "assets", "list"],
        ["--token", "not-shaped-like-a-token", "bogus"],
        ["bogus", "user:12345-AbcdefAbcdef"],
    ],
)
def test_a_misplaced_token_is_never_echoed(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2

    out, err = capsys.readouterr()
    assert "error" in err
    assert "not-shaped-like-a-token" not in out + err
    assert "AbcdefAbcdef" not in out + err


@pytest.mark.parametrize(
    ("args", "abbreviation"),
    [
        (["assets", "list", "--emai", "{email}"], "--emai"),
        (["assets", "list", "--page-s", "2"], "--page-s"),
        (["--max-retr=0", "assets", "list"], "--max-retr=0"),
        (["uploads", "list", "--file-n", "x"], "--file-n"),
        (["uploads", "delete", "--email", "{email}", "1", "--max-retr=0"], "--max-retr=0"),
        (["export", "{out}", "--content", "video"], "--content"),
        (["fake-server", "--acc", "0"], "--acc"),  # 0: never serves, whatever the parse
    ],
)
def test_an_abbreviated_option_is_a_usage_error(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, args: list[str], abbreviation: str
) -> None:
    values = [arg.format(email=fake.emails[0], out=tmp_path / "out") for arg in args]

    run = kling(*values)

    assert run.status == 2
    assert f"unrecognized arguments: {abbreviation}" in run.err
    assert fake.requests == []
    assert not (tmp_path / "out").exists()


def subcommand_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line, with the words that lead to it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield from subcommand_parsers(subparser, (*path, name))


def test_no_parser_takes_abbreviations() -> None:
    parsers = dict(subcommand_parsers(build_parser()))

    assert {("uploads", "delete"), ("uploads", "add"), ("tasks", "delete")} <= set(parsers)
    assert {path for path, parser in parsers.items() if parser.allow_abbrev} == set()


LISTINGS_AND_EXPORT = [
    ["assets", "list"],
    ["uploads", "list"],
    ["tasks", "list"],
    ["export", "out"],
]


@pytest.mark.parametrize("command", LISTINGS_AND_EXPORT)
@pytest.mark.parametrize("content_type", list(ContentType))
def test_every_content_type_is_a_choice_in_any_case(
    command: list[str], content_type: ContentType
) -> None:
    args = build_parser().parse_args([*command, "--content-type", content_type.value.upper()])

    assert args.content_type == content_type.value


@pytest.mark.parametrize("file_type", list(FileType))
def test_every_file_type_is_a_choice_of_export_in_any_case(file_type: FileType) -> None:
    args = build_parser().parse_args(["export", "out", "--file-type", file_type.value.lower()])

    assert args.file_type == file_type.value


@pytest.mark.parametrize("command", [["assets", "list"], ["uploads", "list"], ["elements", "list"]])
@pytest.mark.parametrize("sort", get_args(SortOrder))
def test_every_sort_order_is_a_choice_of_the_listings_in_any_case(
    command: list[str], sort: str
) -> None:
    args = build_parser().parse_args([*command, "--sort", sort.upper()])

    assert args.sort == sort


@pytest.mark.parametrize("http", get_args(HTTPBackend))
def test_every_http_transport_is_a_choice_before_or_after_the_command(http: str) -> None:
    before = build_parser().parse_args(["--http", http, "assets", "list"])
    after = build_parser().parse_args(["assets", "list", "--http", http])

    assert (before.http, after.http) == (http, http)


def test_a_listing_without_sort_leaves_the_order_to_the_service() -> None:
    assert build_parser().parse_args(["assets", "list"]).sort is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=timezone.utc)),
        ("2025-01-31T08:30", datetime(2025, 1, 31, 8, 30, tzinfo=timezone.utc)),
        ("2025-01-31 08:30:15.250", datetime(2025, 1, 31, 8, 30, 15, 250000, timezone.utc)),
        ("2025-01-31T08:30:00Z", datetime(2025, 1, 31, 8, 30, tzinfo=timezone.utc)),
        ("2025-01-31T08:30:00+02:00", datetime(2025, 1, 31, 6, 30, tzinfo=timezone.utc)),
    ],
)
def test_since_takes_an_iso_date_or_datetime_naive_meaning_utc(
    text: str, expected: datetime
) -> None:
    since = build_parser().parse_args(["export", "out", "--since", text]).since

    assert since == expected
    assert since.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    ["yesterday", "", "2025-13-01", "2025-02-30", "20250131", "2025-01-31T25:00", "31/01/2025"],
)
def test_a_bad_since_is_a_usage_error(
    text: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"

    assert cli.main(["export", str(out), f"--since={text}"]) == 2

    err = capsys.readouterr().err
    (error,) = [line for line in err.splitlines() if "error" in line]
    assert error.startswith("kling-async export: error: argument --since: ")
    assert "is not an ISO date" in error
    assert not out.exists()


def test_export_without_email_means_every_account() -> None:
    args = build_parser().parse_args(["export", "out"])

    assert args.email is None
    assert (args.since, args.new_only, args.verify, args.dry_run, args.json) == (
        None,
        False,
        False,
        False,
        False,
    )


def test_verify_parses_its_folder_and_json() -> None:
    args = build_parser().parse_args(["verify", "out", "--json"])

    assert args.handler is _commands.verify
    assert args.out_dir == Path("out")
    assert args.json is True
    assert build_parser().parse_args(["verify", "out"]).json is False


def test_assets_list_sorts_oldest_first(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]

    run = kling("assets", "list", "--email", account.email, "--page-size", "2", "--sort", "asc")

    assert run.status == 0, run.err
    assert [entry["task"]["id"] for entry in run.json()["history"]] == [
        task.task_id for task in account.tasks[::-1][:2]
    ]
    assert fake.requests[-1].query["sort"] == "asc"


def test_uploads_list_sorts_oldest_first(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[1]

    run = kling("uploads", "list", "--email", account.email, "--page-size", "2", "--sort", "asc")

    assert run.status == 0, run.err
    assert [item["id"] for item in run.json()["uploadAssetsList"]] == [
        upload.id for upload in account.uploads[::-1][:2]
    ]


# -- demo -----------------------------------------------------------------------------------------


def test_demo_exports_the_fake_accounts_with_zero_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"

    assert cli.main(["demo", str(out)]) == 0

    printed, err = capsys.readouterr()
    lines = read_manifest(out)
    assert len(lines) == 120
    assert len({line["path"] for line in lines}) == 120
    assert len({line["account"] for line in lines}) == 3
    for line in lines[:10]:
        data = (out / line["path"]).read_bytes()
        assert data == expected_file_bytes(line["work_id"], line["file_type"])
    assert str(out / "manifest.jsonl") in printed
    assert "USEAPI_TOKEN" in printed
    assert "downloaded 120" in " ".join(err.split())


# -- real processes -------------------------------------------------------------------------------


async def wait_for_requests(fake: FakeKlingServer, count: int) -> None:
    with anyio.fail_after(30):
        await fake.wait_for_requests(count)


def script() -> list[str]:
    found = shutil.which("kling-async", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "kling_async"]


def test_console_script_exports_in_a_subprocess(fake: FakeKlingServer, tmp_path: Path) -> None:
    env = {**os.environ, "USEAPI_TOKEN": fake.token, "USEAPI_BASE_URL": fake.base_url}

    done = subprocess.run(
        [*script(), *export_args(fake, tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert fake.token not in done.stdout + done.stderr
    assert len(read_manifest(tmp_path)) == len(all_works(fake))


def test_python_m_kling_async_prints_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kling_async", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0
    assert "export" in done.stdout
    assert "demo" in done.stdout


def test_ctrl_c_exits_130_without_a_traceback_or_partial_files(
    fake: FakeKlingServer, portal: anyio.from_thread.BlockingPortal, tmp_path: Path
) -> None:
    email = fake.emails[0]
    fake.add_faults(Fault.hang(), path="/assets/download")
    env = {**os.environ, "USEAPI_TOKEN": fake.token, "USEAPI_BASE_URL": fake.base_url}
    args = ["export", str(tmp_path), "--email", email, "--concurrency", "1"]
    with subprocess.Popen(
        [*script(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        # One page of listing, then the first download call, which hangs.
        portal.call(wait_for_requests, fake, 2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)

    assert process.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in err
    assert fake.token not in out + err
    assert not [path for path in tmp_path.rglob("*") if path.is_file() and path.stat().st_size]


async def wait_for_a_download(fake: FakeKlingServer) -> None:
    """Until the fake has seen a GET /assets/download: the listing has begun to deliver."""
    with anyio.fail_after(30):
        while not download_requests(fake):
            await fake.wait_for_requests(len(fake.requests) + 1)


def test_ctrl_c_prints_the_partial_summary_and_the_command_that_resumes(
    fake: FakeKlingServer, portal: anyio.from_thread.BlockingPortal, tmp_path: Path
) -> None:
    fake.latency = 0.5  # every API call: the export is mid-way when the signal comes
    out = tmp_path / "my export"
    env = {**os.environ, "USEAPI_TOKEN": fake.token, "USEAPI_BASE_URL": fake.base_url}
    args = export_args(fake, out, "--concurrency", "2")
    with subprocess.Popen(
        [*script(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        portal.call(wait_for_a_download, fake)
        process.send_signal(signal.SIGINT)
        stdout, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert stdout == ""
    assert "Traceback" not in err
    assert "Interrupted after " in err
    rows = table_rows(err)
    assert rows[0] == ["account", "listed", "downloaded", "skipped", "failed", "bytes"]
    total = rows[-1]
    assert total[0] == "total"
    assert 0 < int(total[1]) <= len(all_works(fake))
    assert int(total[2]) < len(all_works(fake))
    assert f"resume with: kling-async {shlex.join(args)}\n" in err
    assert err.endswith("kling-async: interrupted\n")


def test_a_second_export_into_a_folder_in_use_exits_2_naming_the_first(
    fake: FakeKlingServer,
    portal: anyio.from_thread.BlockingPortal,
    kling: Any,
    tmp_path: Path,
) -> None:
    fake.set_fault_rate(1.0, [Fault.hang()], path="/assets/download")
    env = {**os.environ, "USEAPI_TOKEN": fake.token, "USEAPI_BASE_URL": fake.base_url}
    with subprocess.Popen(
        [*script(), *export_args(fake, tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as first:
        portal.call(wait_for_a_download, fake)  # the first export holds the folder
        before = snapshot(tmp_path)

        second = kling(*export_args(fake, tmp_path))

        after = snapshot(tmp_path)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)

    assert second.status == 2
    assert second.err.count("\n") == 1
    assert second.err.startswith(f"kling-async: error: {tmp_path} is being exported by another")
    assert f"(pid {first.pid} on {socket.gethostname()}, started 20" in second.err
    assert second.err.endswith("); nothing was changed\n")
    assert after == before
    assert first.returncode == 130


ANSI_CODE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07)")


def run_in_a_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with a pseudo-terminal as stdin, stdout and stderr; all it showed."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    shown = bytearray()
    with subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, env=env
    ) as process:
        os.close(terminal)
        try:
            while True:
                ready, _, _ = select.select([controller], [], [], 60)
                assert ready, f"no output for 60 s; so far: {bytes(shown[-2000:])!r}"
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: every process holding the terminal has ended
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(controller)
        status = process.wait(timeout=60)
    return status, shown.decode(errors="replace")


def test_demo_on_a_terminal_shows_live_totals_then_the_table(tmp_path: Path) -> None:
    env = {**os.environ, "TERM": "xterm-256color"}
    for name in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"):
        env.pop(name, None)

    status, shown = run_in_a_terminal([*script(), "demo", str(tmp_path / "demo")], env)

    assert status == 0, shown
    assert "\x1b[" in shown  # live bars, redrawn in place
    text = ANSI_CODE.sub("", shown)
    assert "Listing" in text
    assert "Downloading" in text
    assert "120/120" in text
    assert re.search(r"account +listed +downloaded +skipped +failed +bytes", text)
    rows = re.findall(r"\S+@example\.com +40 +40 +0 +0 +[0-9.]+ [kM]B", text)
    assert len(rows) == 3
    assert re.search(r"total +120 +120 +0 +0 +[0-9.]+ MB", text)


def test_fake_server_command_serves_until_interrupted(tmp_path: Path) -> None:
    command = [*script(), "fake-server", "--accounts", "1", "--works", "3", "--seed", "9"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        info = orjson.loads(process.stdout.readline())
        status = cli.main(
            ["--token", info["token"], "--base-url", info["base_url"], "assets", "list"]
        )
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)

    assert status == 0
    assert process.returncode == 0
    assert info["emails"] == [info["emails"][0]]
    assert info["base_url"] in err


# -- hostile values and echoed tokens ---------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["assets", "list", "--page", "\u0663"],
        ["assets", "list", "--page-size", "\uff15"],
        ["assets", "list", "--page", "9" * 5000],
        ["--timeout", "nan", "assets", "list"],
        ["--timeout", "inf", "assets", "list"],
        ["--timeout", "\u0663", "assets", "list"],
        ["--max-retries", "9" * 5000, "assets", "list"],
        ["uploads", "delete", "--email", "a@example.com", "9" * 5000],
        ["uploads", "delete", "--email", "a@example.com", "\u0663"],
        ["uploads", "delete", "--email", "a\x7f@example.com", "1"],
    ],
)
def test_hostile_values_are_usage_errors_before_any_request(
    fake: FakeKlingServer, kling: Any, args: list[str]
) -> None:
    run = kling(*args)

    assert run.status == 2
    assert run.err.startswith("kling-async: ") or "usage:" in run.err
    assert "Traceback" not in run.err
    assert len(run.err) < 2000
    assert fake.requests == []


def test_an_export_failure_echoing_the_token_never_shows_it(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    echo = {"error": f"token {fake.token} is not allowed here"}
    fake.set_fault_rate(1.0, [Fault.status(400, body=echo)], path="/assets/download")

    run = kling(*export_args(fake, tmp_path / "out"))  # Run asserts the token is not shown

    assert run.status == 1
    assert "is not allowed here" in run.err
    assert "***" in run.err


def test_the_aiohttp_transport_exports_on_asyncio(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    run = kling("--http", "aiohttp", *export_args(fake, tmp_path / "out"))

    assert run.status == 0
    assert len(read_manifest(tmp_path / "out")) == len(all_works(fake))


def test_the_aiohttp_transport_on_trio_is_a_usage_error(fake: FakeKlingServer, kling: Any) -> None:
    run = kling("--http", "aiohttp", "--backend", "trio", "assets", "list")

    assert run.status == 2
    assert "asyncio only" in run.err
    assert fake.requests == []
