"""The ``kling-async`` commands, one function each: ``handler(args) -> exit status``.

Each takes the namespace `kling_async.cli._parser.build_parser` made. Options go to the SDK
by keyword; only the IDs a call is about go by position.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from .._client import KlingClient
from .._converter import unstructure
from .._params import normalize_ids
from .._redact import redact_text
from ..export import MANIFEST_NAME, ExportReport, VerifyReport, export_works, verify_export
from ._run import PROG, MissingExtra, UsageError, run_on_loop

if TYPE_CHECKING:
    from ..testing import FakeKlingServer
    from ._view import ExportView

__all__ = [
    "assets_list",
    "demo",
    "elements_get",
    "export",
    "fake_server",
    "resume_command",
    "uploads_delete",
    "uploads_list",
    "verify",
]


# -- read-only commands ---------------------------------------------------------------------------


def assets_list(args: argparse.Namespace) -> int:
    """``assets list``: print one page of generated works as JSON."""
    return _show(
        args,
        lambda client: client.assets.list(
            page_num=args.page,
            page_size=args.page_size,
            content_type=args.content_type,
            email=args.email,
            sort=args.sort,
        ),
    )


def uploads_list(args: argparse.Namespace) -> int:
    """``uploads list``: print one page of uploaded files as JSON."""
    return _show(
        args,
        lambda client: client.uploads.list(
            page_num=args.page,
            page_size=args.page_size,
            content_type=args.content_type,
            file_name=args.file_name,
            email=args.email,
            sort=args.sort,
        ),
    )


def elements_get(args: argparse.Namespace) -> int:
    """``elements get``: print one element as JSON."""
    return _show(args, lambda client: client.elements.get(args.element_id, email=args.email))


def uploads_delete(args: argparse.Namespace) -> int:
    """``uploads delete``: delete uploads 10 per call; print what was deleted, failed or not."""
    from .. import batch

    ids = normalize_ids(args.ids, name="ID")  # every ID is checked before any request
    result = _call(args, lambda client: batch.delete_uploaded(client, ids, email=args.email))
    failed = [
        {"ids": list(chunk.ids), "error": redact_text(str(chunk.error), *_secrets(args))}
        for chunk in result.chunks
        if chunk.error is not None
    ]
    _print_json(
        {
            "deleted": list(result.succeeded_ids),
            "unconfirmed": list(result.unconfirmed_ids),
            "failed": failed,
        }
    )
    return 0 if result.ok else 1


# -- export, demo and verify ----------------------------------------------------------------------


def export(args: argparse.Namespace) -> int:
    """``export``: download every work of the accounts, with progress and a summary."""
    view = _export_view(
        quiet=args.quiet,
        json=args.json,
        dry_run=args.dry_run,
        file_type=args.file_type,
        secrets=_secrets(args),
    )
    client = _client(args)

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
    _check_http(args)
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
        _print_json(result.to_dict())
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
                _print_json(_redacted(view.report.to_dict(), _secrets(args)))
        raise
    view.summary(report)
    if json:
        _print_json(_redacted(report.to_dict(), _secrets(args)))
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


def _secrets(args: argparse.Namespace) -> list[str | None]:
    """The tokens this command may meet in what it prints: ``--token`` and USEAPI_TOKEN."""
    return [args.token, os.environ.get("USEAPI_TOKEN")]


def _client(args: argparse.Namespace) -> KlingClient:
    if args.token is None and not os.environ.get("USEAPI_TOKEN", "").strip():
        raise UsageError("no API token: set the USEAPI_TOKEN environment variable (or --token)")
    _check_http(args)
    return KlingClient(
        token=args.token,
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=args.max_retries,
        http=args.http,
    )


def _check_http(args: argparse.Namespace) -> None:
    if args.http == "aiohttp" and args.backend != "asyncio":
        raise UsageError("--http aiohttp runs on asyncio only: drop --backend trio")


def _call(args: argparse.Namespace, command: Callable[[KlingClient], Awaitable[Any]]) -> Any:
    """Run ``command`` with a client made from the global options, on the chosen event loop."""
    client = _client(args)

    async def run() -> Any:
        async with client:
            return await command(client)

    return run_on_loop(run, args.backend)


def _show(args: argparse.Namespace, command: Callable[[KlingClient], Awaitable[Any]]) -> int:
    """Run ``command`` as `_call` does and print what it returns as JSON, in the wire form."""
    _print_json(unstructure(_call(args, command)))
    return 0


def _print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _redacted(value: Any, secrets: Sequence[str | None]) -> Any:
    """A JSON-ready value with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact_text(value, *secrets)
    if isinstance(value, dict):
        return {_redacted(key, secrets): _redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, secrets) for item in value]
    return value


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
