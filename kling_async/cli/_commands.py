"""The ``kling-async`` commands, one function each: ``handler(args) -> exit status``.

Each takes the namespace `kling_async.cli._parser.build_parser` made. Options go to the SDK
by keyword; only the IDs a call is about go by position.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from .._client import KlingClient
from .._converter import unstructure
from .._export import ExportReport, export_works
from .._params import normalize_ids
from .._redact import redact_text
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
    "uploads_delete",
    "uploads_list",
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


# -- export and demo ------------------------------------------------------------------------------


def export(args: argparse.Namespace) -> int:
    """``export``: download every work of the accounts, with progress and a summary."""
    view = _export_view(quiet=args.quiet, file_type=args.file_type, secrets=_secrets(args))
    client = _client(args)

    async def run() -> ExportReport:
        async with client:
            return await export_works(
                client,
                args.out_dir,
                emails=args.email,
                content_type=args.content_type,
                file_type=args.file_type,
                concurrency=args.concurrency,
                progress=view,
            )

    with view:
        report: ExportReport = run_on_loop(run, args.backend)
    view.summary(report)
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
            return await export_works(
                client,
                args.out_dir,
                emails=fake.emails,
                concurrency=args.concurrency,
                progress=view,
            )

    with view:
        report: ExportReport = run_on_loop(run, args.backend)
    view.summary(report)
    out = report.out_dir
    print(
        f"The demo works are in {out}{os.sep}<account>{os.sep}, listed in {report.manifest_path}."
    )
    print(f"Run `{PROG} demo {out}` again to see an export resume: every file is skipped.")
    print("To export your own works through useapi.net:")
    print("  export USEAPI_TOKEN=...   # your useapi.net API token")
    print(f"  {PROG} export my-kling-works --email you@example.com")
    return 0 if report.ok else 1


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


def _export_view(
    *, quiet: bool, file_type: str | None = None, secrets: Sequence[str | None] = ()
) -> ExportView:
    try:
        from ._view import ExportView  # rich, the cli extra: imported only when an export shows
    except ImportError:
        raise MissingExtra(
            "progress bars and summaries need rich: pip install 'kling-async[cli]'"
        ) from None
    return ExportView(quiet=quiet, file_type=file_type, secrets=secrets)


def _testing() -> Any:
    try:
        from .. import testing
    except ImportError:
        raise MissingExtra(
            "this command needs the fake server's starlette and hypercorn: "
            "pip install 'kling-async[cli]'"
        ) from None
    return testing
