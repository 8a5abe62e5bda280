"""The ``kling-async`` export commands, one function each: ``handler(args) -> exit status``.

``export``, ``demo``, ``verify`` and ``fake-server``; the commands of the API's endpoints
(``assets``, ``uploads``, ``tasks``, ``elements``, ``scheduler``) are in `._api_commands`.
Each takes the namespace `kling_async.cli._parser.build_parser` made.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._client import KlingClient
from .._redact import redact_text
from ..export import MANIFEST_NAME, ExportReport, VerifyReport, export_works, verify_export
from ._run import (
    PROG,
    MissingExtra,
    UsageError,
    check_http,
    make_client,
    print_json,
    redacted,
    run_on_loop,
    secrets_of,
)

if TYPE_CHECKING:
    from ..testing import FakeKlingServer
    from ._view import ExportView

__all__ = ["demo", "export", "fake_server", "resume_command", "verify"]


# -- export, demo and verify ----------------------------------------------------------------------


def export(args: argparse.Namespace) -> int:
    """``export``: download every work of the accounts, with progress and a summary."""
    view = _export_view(
        quiet=args.quiet,
        json=args.json,
        dry_run=args.dry_run,
        file_type=args.file_type,
        secrets=secrets_of(args),
    )
    client = make_client(args)

    async def run() -> ExportReport:
        async with client:
            return await export_works(
                client,
                args.out_dir,
                emails=args.email,
                content_type=args.content_type,
                file_type=args.file_type,
                since=args.since,
                new_only=args.new_only,
                verify=args.verify,
                dry_run=args.dry_run,
                concurrency=args.concurrency,
                progress=view,
            )

    report = _show_export(args, view, run)
    return 0 if report.ok else 1


def demo(args: argparse.Namespace) -> int:
    """``demo``: export the works of a fake API served in this process, then say what is next."""
    check_http(args)
    testing = _testing()
    view = _export_view(quiet=args.quiet)
    # Realistic but small: 3 accounts of 40 works, with enough latency to watch progress.
    server = testing.FakeKlingServer(
        accounts=3, works_per_account=40, uploads_per_account=0, latency=0.025, jitter=0.015
    )

    async def run() -> ExportReport:
        async with (
            server as fake,
            KlingClient(token=fake.token, base_url=fake.base_url, http=args.http) as client,
        ):
            view.note(f"A fake Kling API with {len(fake.emails)} accounts serves {fake.url}.")
            # No emails: every account of the subscription, as `export` without --email.
            return await export_works(
                client, args.out_dir, concurrency=args.concurrency, progress=view
            )

    report = _show_export(args, view, run)
    out = report.out_dir
    print(f"The demo works are in {out}{os.sep}<account>{os.sep}, listed in {out / MANIFEST_NAME}.")
    print(f"Run `{PROG} demo {out}` again to see an export resume: every file is skipped.")
    print(f"`{PROG} verify {out}` checks every file against the manifest.")
    print("To export your own works through useapi.net:")
    print("  export USEAPI_TOKEN=...   # your useapi.net API token")
    print(f"  {PROG} export my-kling-works    # every account of the subscription")
    return 0 if report.ok else 1


def verify(args: argparse.Namespace) -> int:
    """``verify``: check an export folder against its manifest; exit 1 when anything is off."""
    result: VerifyReport = run_on_loop(lambda: verify_export(args.out_dir), args.backend)
    if args.json:
        print_json(result.to_dict())
        return 0 if result.ok else 1
    print(
        f"{result.out_dir}: {result.checked} manifest entries checked: "
        f"{len(result.missing)} missing, {len(result.changed)} changed, "
        f"{len(result.unexpected)} unexpected"
    )
    for name, paths in (
        ("missing", result.missing),
        ("changed", result.changed),
        ("unexpected", result.unexpected),
    ):
        if paths:
            print(f"{name} ({len(paths)}):")
            for path in paths[:PATHS_SHOWN]:
                print(f"  {path}")
            if len(paths) > PATHS_SHOWN:
                print(f"  ... and {len(paths) - PATHS_SHOWN} more")
    if result.bad_lines:
        print(f"{MANIFEST_NAME} holds lines that are not well-formed entries, or repeats a path")
    print("ok: the folder matches its manifest" if result.ok else "not ok")
    return 0 if result.ok else 1


PATHS_SHOWN = 10
"""``verify`` lists this many paths of each kind; ``--json`` lists them all."""


def _show_export(
    args: argparse.Namespace, view: ExportView, run: Callable[[], Awaitable[ExportReport]]
) -> ExportReport:
    """Run an export with its view; print its summary (and ``--json``), also when interrupted."""
    json = getattr(args, "json", False)
    try:
        with view:
            report: ExportReport = run_on_loop(run, args.backend)
    except KeyboardInterrupt:
        if view.report is not None:  # the counts so far, and how to go on
            view.summary(view.report, resume=resume_command(getattr(args, "argv", None)))
            if json:
                print_json(redacted(view.report.to_dict(), secrets_of(args)))
        raise
    view.summary(report)
    if json:
        print_json(redacted(report.to_dict(), secrets_of(args)))
    return report


def resume_command(argv: Sequence[str] | None) -> str | None:
    """The command line that was run, shell-quoted, without ``--token`` and its value.

    Run again, it resumes the export (the token comes from USEAPI_TOKEN, or is given again).
    """
    if argv is None:
        return None
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--token":
            skip = True
        elif not arg.startswith("--token="):
            kept.append(arg)
    return redact_text(shlex.join([PROG, *kept]))


def fake_server(args: argparse.Namespace) -> int:
    """``fake-server``: serve a fake Kling API until Ctrl-C."""
    testing = _testing()

    def announce(fake: FakeKlingServer) -> None:
        testing.print_startup_line(fake)
        print(
            f"Fake Kling API on {fake.base_url} (Ctrl-C stops it). Try:\n"
            f"  export USEAPI_BASE_URL={fake.base_url} USEAPI_TOKEN={fake.token}\n"
            f"  {PROG} assets list --email {fake.emails[0]} --page-size 2",
            file=sys.stderr,
            flush=True,
        )

    try:
        testing.run(
            host=args.host,
            port=args.port,
            accounts=args.accounts,
            works_per_account=args.works,
            latency=args.latency / 1000,
            seed=args.seed,
            backend=args.backend,
            on_ready=announce,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    return 0


# -- what the commands share ----------------------------------------------------------------------


def _export_view(
    *,
    quiet: bool,
    json: bool = False,
    dry_run: bool = False,
    file_type: str | None = None,
    secrets: Sequence[str | None] = (),
) -> ExportView:
    try:
        from ._view import ExportView  # rich, the cli extra: imported only when an export shows
    except ImportError:
        raise MissingExtra(
            "progress bars and summaries need rich: pip install 'kling-async[cli]'"
        ) from None
    return ExportView(quiet=quiet, json=json, dry_run=dry_run, file_type=file_type, secrets=secrets)


def _testing() -> Any:
    try:
        from .. import testing
    except ImportError:
        raise MissingExtra(
            "this command needs the fake server's starlette and hypercorn: "
            "pip install 'kling-async[cli]'"
        ) from None
    return testing
