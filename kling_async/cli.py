"""The ``kling-async`` command line (the ``cli`` extra): export every work, and a few API calls.

::

    kling-async demo               # a fake API on loopback, exported to ./kling-demo-export
    kling-async export OUT_DIR --email me@example.com
    kling-async assets list --email me@example.com --page-size 5
    kling-async uploads delete --email me@example.com 869218167527833688

The API token comes from ``USEAPI_TOKEN`` (or ``--token``) and is never printed. Exit status:
0 on success, 1 when the service or the disk failed (or any work could not be exported),
2 for bad arguments, 130 when interrupted. The export job itself is `kling_async._export`;
its progress bars and summary (`kling_async._export_view`) use rich, imported only by the
commands that need it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import anyio
import orjson

from ._client import DEFAULT_BASE_URL, KlingClient
from ._converter import unstructure
from ._exceptions import AuthenticationError, InvalidInputError, KlingError
from ._export import ExportReport, export_works
from ._http import HTTPBackend, httpx
from ._params import MAX_INT, normalize_ids
from ._redact import redact_text
from ._version import __version__

if TYPE_CHECKING:
    from ._export_view import ExportView
    from .testing import FakeKlingServer

__all__ = ["build_parser", "main"]

PROG = "kling-async"
DEMO_DIR = "kling-demo-export"
_CONTENT_TYPES = ("video", "image", "audio")
_FILE_TYPES = ("MP4", "MP3", "WAV", "PNG")
T = TypeVar("T")


class _UsageError(Exception):
    """A problem with how the command was called: exit status 2."""


class _MissingExtra(Exception):
    """An optional dependency the command needs is not installed: exit status 1."""


# -- arguments ----------------------------------------------------------------------------------


def _number(kind: Callable[[str], float], minimum: float, *, strict: bool = False) -> Any:
    """An argparse ``type=``: a number of ``kind`` of at least (or, strict, more than) minimum.

    Only ASCII digits count (Python's own ``int()`` takes any script's digits), the number is
    finite, and an int is at most `MAX_INT`.
    """

    def parse(text: str) -> float:
        shown = text if len(text) <= 20 else f"{text[:20]}..."
        pattern = _INT_TEXT if kind is int else _FLOAT_TEXT
        if not pattern.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"{shown!r} is not a number")
        if kind is int and len(text.strip().lstrip("+-").lstrip("0")) > len(str(MAX_INT)):
            raise argparse.ArgumentTypeError(f"{shown!r} is too large (at most {MAX_INT})")
        value = kind(text)
        if not math.isfinite(value) or (kind is int and value > MAX_INT):
            raise argparse.ArgumentTypeError(f"{shown!r} is not a finite number up to {MAX_INT}")
        if value < minimum or (strict and value == minimum):
            bound = "more than" if strict else "at least"
            raise argparse.ArgumentTypeError(f"{shown!r} must be {bound} {minimum}")
        return value

    return parse


_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_positive = _number(int, 1)


def _port(text: str) -> int:
    port = int(_number(int, 0)(text))
    if port > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


def _add_email(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--email",
        required=required,
        help="the Kling account (needed when the subscription has several)",
    )


def _add_listing(parser: argparse.ArgumentParser, page_size: int) -> None:
    _add_email(parser)
    parser.add_argument("--page", type=_positive, default=1, metavar="N", help="(default 1)")
    parser.add_argument(
        "--page-size", type=_positive, default=page_size, metavar="N", help=f"(default {page_size})"
    )
    parser.add_argument(
        "--content-type", type=str.lower, choices=_CONTENT_TYPES, help="only items of this kind"
    )


def _global_options(*, defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name.

    Only the top-level parser holds their defaults: a command's parser leaves out what was not
    given to it, so ``--token`` works on either side of the command name.
    """
    options = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    options.add_argument(
        "--token",
        default=default(None),
        help="useapi.net API token (default: the USEAPI_TOKEN environment variable, "
        "which is safer: a command line is visible to other users)",
    )
    options.add_argument(
        "--base-url",
        default=default(None),
        metavar="URL",
        help=f"API root (default: USEAPI_BASE_URL, else {DEFAULT_BASE_URL})",
    )
    options.add_argument(
        "--timeout",
        type=_number(float, 0, strict=True),
        default=default(60.0),
        metavar="SECONDS",
        help="timeout of each request (default 60)",
    )
    options.add_argument(
        "--max-retries",
        type=_number(int, 0),
        default=default(2),
        metavar="N",
        help="retries of a failed request or download (default 2)",
    )
    options.add_argument(
        "--backend",
        choices=("asyncio", "trio"),
        default=default("asyncio"),
        help="event loop (asyncio)",
    )
    options.add_argument(
        "--http",
        choices=get_args(HTTPBackend),
        default=default("httpx2"),
        help="HTTP transport: httpx2 (default) or aiohttp (asyncio only, less CPU per "
        "request; pip install 'kling-async[aiohttp]')",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    """The ``kling-async`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export your Kling works through useapi.net, and call its Kling API.",
        epilog=f"Start with `{PROG} demo`: it needs no token and no network.",
        parents=[_global_options(defaults=True)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    global_options = _global_options(defaults=False)

    def add(
        commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, **kwargs: Any
    ) -> argparse.ArgumentParser:
        """A command that calls the API: it takes the global options after its name too."""
        return commands.add_parser(name, parents=[global_options], **kwargs)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    export = add(
        commands,
        "export",
        help="download every work of the accounts, with a manifest",
        description="Download every work (watermark-free) into OUT_DIR/<account>/<workId>.<ext> "
        "and list them in OUT_DIR/manifest.jsonl. Run it again to resume: files already there "
        "are skipped.",
    )
    export.add_argument(
        "out_dir", metavar="OUT_DIR", type=Path, help="where to export (created if missing)"
    )
    export.add_argument(
        "--email",
        action="append",
        help="an account to export; repeat for several (default: the only account)",
    )
    export.add_argument(
        "--content-type", type=str.lower, choices=_CONTENT_TYPES, help="only works of this kind"
    )
    export.add_argument(
        "--file-type",
        type=str.upper,
        choices=_FILE_TYPES,
        help="download this type for every work (default: by content type)",
    )
    _add_run_options(export)
    export.set_defaults(handler=_export)

    demo = commands.add_parser(
        "demo",
        help="export from a fake API on loopback: no token, no network",
        description="Start a fake Kling API with 3 accounts in this process and export its works "
        "exactly as `export` would.",
    )
    demo.add_argument(
        "out_dir",
        metavar="OUT_DIR",
        type=Path,
        nargs="?",
        default=Path(DEMO_DIR),
        help=f"where to export (default ./{DEMO_DIR})",
    )
    _add_run_options(demo)
    demo.set_defaults(handler=_demo)

    assets = add(commands, "assets", help="generated works").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    assets_list = add(assets, "list", help="print one page of works as JSON")
    _add_listing(assets_list, 40)
    assets_list.set_defaults(handler=_assets_list)

    uploads = add(commands, "uploads", help="uploaded files").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    uploads_list = add(uploads, "list", help="print one page of uploads as JSON")
    _add_listing(uploads_list, 20)
    uploads_list.add_argument("--file-name", help="only names containing this keyword")
    uploads_list.set_defaults(handler=_uploads_list)
    delete = add(
        uploads,
        "delete",
        help="delete uploaded files (no undo)",
        description="Delete uploaded files, "
        "10 per call; prints which IDs were deleted, failed or not confirmed.",
    )
    _add_email(delete, required=True)
    delete.add_argument("ids", metavar="ID", nargs="+", help="numeric upload IDs")
    delete.set_defaults(handler=_uploads_delete)

    elements = add(commands, "elements", help="elements").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    element_get = add(elements, "get", help="print one element as JSON")
    element_get.add_argument("element_id", metavar="ID")
    _add_email(element_get)
    element_get.set_defaults(handler=_elements_get)

    fake = commands.add_parser(
        "fake-server",
        help="serve a fake Kling API until Ctrl-C",
        description="Serve a fake useapi.net Kling API (seeded data, real HTTP). Prints one JSON "
        "line with its base_url, token and emails, then serves until Ctrl-C.",
    )
    fake.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    fake.add_argument("--port", type=_port, default=0, help="port (default: any free one)")
    fake.add_argument(
        "--accounts", type=_positive, default=3, metavar="N", help="accounts (default 3)"
    )
    fake.add_argument(
        "--works", type=_positive, default=120, metavar="N", help="works per account (default 120)"
    )
    fake.add_argument(
        "--latency",
        type=_number(float, 0),
        default=0.0,
        metavar="MS",
        help="delay of each API call (0)",
    )
    fake.add_argument("--seed", type=_number(int, 0), default=0, help="dataset seed (default 0)")
    fake.set_defaults(handler=_fake_server)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=8,
        metavar="N",
        help="downloads at once (default 8)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress and no summary, only failures"
    )


# -- running --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kling-async`` with ``argv`` (default: the process's arguments); return the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    secrets = [os.environ.get("USEAPI_TOKEN"), *_token_arguments(argv)]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        # A misplaced or misspelt --token is echoed by argparse: never let it through.
        sys.stderr.write(redact_text(errors.getvalue(), *secrets))
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None) * 2
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except BaseException as error:
        leaves = list(_leaves(error))
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            return _report("interrupted", 130, secrets)
        leaf = leaves[0] if len(leaves) == 1 else error
        if isinstance(leaf, (_UsageError, InvalidInputError)):
            return _report(f"error: {leaf}", 2, secrets)
        if isinstance(leaf, AuthenticationError):
            return _report(f"error: {leaf}; check USEAPI_TOKEN (or --token)", 1, secrets)
        if isinstance(leaf, (KlingError, OSError, httpx.HTTPError, _MissingExtra)):
            return _report(f"error: {leaf}", 1, secrets)
        raise


def _leaves(error: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, or the error itself."""
    members = getattr(error, "exceptions", None)
    if isinstance(members, tuple) and members:
        for member in members:
            yield from _leaves(member)
    else:
        yield error


def _token_arguments(argv: Sequence[str]) -> list[str]:
    """The values given to ``--token`` (or anything like it) on the command line."""
    found = []
    for index, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if name == "--t" or name.startswith("--to"):
            if equals:
                found.append(value)
            elif index + 1 < len(argv):
                found.append(argv[index + 1])
    return found


def _report(message: str, status: int, secrets: Sequence[str | None]) -> int:
    print(f"{PROG}: {redact_text(' '.join(message.split()), *secrets)}", file=sys.stderr)
    return status


def _client(args: argparse.Namespace) -> KlingClient:
    if args.token is None and not os.environ.get("USEAPI_TOKEN", "").strip():
        raise _UsageError("no API token: set the USEAPI_TOKEN environment variable (or --token)")
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
        raise _UsageError("--http aiohttp runs on asyncio only: drop --backend trio")


def _call(args: argparse.Namespace, command: Callable[[KlingClient], Awaitable[Any]]) -> Any:
    """Run ``command`` with a client made from the global options, on the chosen event loop."""
    client = _client(args)

    async def run() -> Any:
        async with client:
            return await command(client)

    return _run(run, args.backend)


def _run(func: Callable[[], Awaitable[T]], backend: str) -> T:
    """Run ``func`` on the event loop; Ctrl-C cancels it cleanly, then raises KeyboardInterrupt.

    The SIGINT is taken through anyio, so an interrupted command unwinds by cancellation
    (``.part`` files removed, connections closed) the same way on asyncio and trio, on every
    Python version, instead of each loop's own way of surfacing a KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        return anyio.run(func, backend=backend)  # signals can only be caught on the main thread
    interrupted = False

    async def guarded() -> T:
        nonlocal interrupted
        outcome: list[T] = []

        async def watch_sigint(scope: anyio.CancelScope) -> None:
            nonlocal interrupted
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    interrupted = True
                    scope.cancel()
                    return

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_sigint, tg.cancel_scope)
            outcome.append(await func())
            tg.cancel_scope.cancel()
        if interrupted or not outcome:
            raise KeyboardInterrupt
        return outcome[0]

    return anyio.run(guarded, backend=backend)


def _print_json(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


# -- read-only commands ---------------------------------------------------------------------------


def _assets_list(args: argparse.Namespace) -> int:
    page = _call(
        args,
        lambda client: client.assets.list(args.page, args.page_size, args.content_type, args.email),
    )
    _print_json(unstructure(page))
    return 0


def _uploads_list(args: argparse.Namespace) -> int:
    page = _call(
        args,
        lambda client: client.uploads.list(
            args.page, args.page_size, args.content_type, args.file_name, args.email
        ),
    )
    _print_json(unstructure(page))
    return 0


def _elements_get(args: argparse.Namespace) -> int:
    element = _call(args, lambda client: client.elements.get(args.element_id, args.email))
    _print_json(unstructure(element))
    return 0


def _uploads_delete(args: argparse.Namespace) -> int:
    from . import batch

    ids = normalize_ids(args.ids, name="ID")  # every ID is checked before any request
    result = _call(args, lambda client: batch.delete_uploaded(client, ids, email=args.email))
    token = args.token if args.token is not None else os.environ.get("USEAPI_TOKEN")
    failed = [
        {"ids": list(chunk.ids), "error": redact_text(str(chunk.error), token)}
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


def _export(args: argparse.Namespace) -> int:
    secrets = [args.token, os.environ.get("USEAPI_TOKEN")]
    view = _export_view(quiet=args.quiet, file_type=args.file_type, secrets=secrets)
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
        report: ExportReport = _run(run, args.backend)
    view.summary(report)
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
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
        report: ExportReport = _run(run, args.backend)
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


def _fake_server(args: argparse.Namespace) -> int:
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
        raise _UsageError(str(error)) from None
    return 0


def _export_view(
    *, quiet: bool, file_type: str | None = None, secrets: Sequence[str | None] = ()
) -> ExportView:
    try:
        from ._export_view import ExportView
    except ImportError:
        raise _MissingExtra(
            "progress bars and summaries need rich: pip install 'kling-async[cli]'"
        ) from None
    return ExportView(quiet=quiet, file_type=file_type, secrets=secrets)


def _testing() -> Any:
    try:
        from . import testing
    except ImportError:
        raise _MissingExtra(
            "this command needs the fake server's starlette and hypercorn: "
            "pip install 'kling-async[cli]'"
        ) from None
    return testing
