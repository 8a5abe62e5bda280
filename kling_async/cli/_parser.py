"""The ``kling-async`` argument parser: every command, its options and their checks.

No parser takes abbreviations (``--emai`` is an error, never ``--email``), and the choices of
``--content-type``, ``--file-type``, ``--sort`` and ``--http`` are the SDK's own enumerations,
so the command line offers exactly what the client accepts; ``uploads add --content-type``
takes the MIME types `kling_async.UPLOAD_LIMITS` names, checked by the SDK's own rule.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, get_args

from .._client import DEFAULT_BASE_URL
from .._exceptions import InvalidInputError
from .._http import HTTPBackend
from .._params import MAX_INT, UPLOAD_LIMITS, upload_content_type
from .._resources._options import ELEMENTS_PAGE_SIZE, TASKS_PAGE_SIZE
from .._types import ContentType, FileType, SortOrder
from .._version import __version__
from . import _api_commands, _commands
from ._run import PROG

__all__ = ["DEMO_DIR", "build_parser"]

DEMO_DIR = "kling-demo-export"
EVENT_LOOPS = ("asyncio", "trio")
CONTENT_TYPES = tuple(member.value for member in ContentType)
FILE_TYPES = tuple(member.value for member in FileType)
SORT_ORDERS: tuple[str, ...] = get_args(SortOrder)
HTTP_BACKENDS: tuple[str, ...] = get_args(HTTPBackend)

Subcommands = argparse._SubParsersAction  # argparse names the type only privately


# -- values ---------------------------------------------------------------------------------------


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


_DATE_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"  # a date,
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?)?"  # a time of day,
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?)?"  # and an offset: the forms every Python reads
)


def _moment(text: str) -> datetime:
    """A moment (``--since``, ``--created-before``, ...): ISO 8601; without an offset, UTC."""
    shown = text if len(text) <= 40 else f"{text[:40]}..."
    problem = f"{shown!r} is not an ISO date or date and time (2025-01-31, 2025-01-31T08:00)"
    if not _DATE_TEXT.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(problem)
    try:
        moment = datetime.fromisoformat(re.sub("[Zz]$", "+00:00", text.strip()))
    except ValueError as error:  # a month 13, a February 30
        raise argparse.ArgumentTypeError(f"{problem}: {error}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _mime(text: str) -> str:
    """``uploads add --content-type``: a MIME type POST /assets takes (or another spelling)."""
    try:
        return upload_content_type(text, None)
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    port = int(_number(int, 0)(text))
    if port > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return port


# -- option groups --------------------------------------------------------------------------------


def _global_options(*, defaults: bool) -> argparse.ArgumentParser:
    """The options every command that calls the API takes, before or after its name.

    Only the top-level parser holds their defaults: a command's parser leaves out what was not
    given to it, so ``--token`` works on either side of the command name.
    """
    options = argparse.ArgumentParser(add_help=False, allow_abbrev=False)

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
        choices=EVENT_LOOPS,
        default=default(EVENT_LOOPS[0]),
        help=f"event loop ({EVENT_LOOPS[0]})",
    )
    options.add_argument(
        "--http",
        choices=HTTP_BACKENDS,
        default=default(HTTP_BACKENDS[0]),
        help=f"HTTP transport (default {HTTP_BACKENDS[0]}); aiohttp runs on asyncio only, with "
        "less CPU per request: pip install 'kling-async[aiohttp]'",
    )
    return options


def _add_email(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--email",
        required=required,
        help="the Kling account (needed when the subscription has several)",
    )


def _add_content_type(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--content-type", type=str.lower, choices=CONTENT_TYPES, help=what)


def _add_listing(parser: argparse.ArgumentParser, page_size: int) -> None:
    _add_email(parser)
    parser.add_argument("--page", type=_positive, default=1, metavar="N", help="(default 1)")
    parser.add_argument(
        "--page-size", type=_positive, default=page_size, metavar="N", help=f"(default {page_size})"
    )
    _add_content_type(parser, "only items of this kind")
    parser.add_argument(
        "--sort",
        type=str.lower,
        choices=SORT_ORDERS,
        help="by creation time: asc (oldest first) or desc (the service's default)",
    )


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


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=what)


def _add_limit(parser: argparse.ArgumentParser, noun: str, page_size: int) -> None:
    parser.add_argument(
        "--page-size",
        type=_positive,
        metavar="N",
        help=f"{noun} per request (default {page_size}, or the --limit when smaller)",
    )
    parser.add_argument(
        "--limit", type=_positive, metavar="N", help=f"stop after N {noun} (default: all)"
    )


def _add_delete_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yes",
        action="store_true",
        help="delete without asking (needed when stdin is not a terminal)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be deleted; send nothing"
    )


# -- the parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``kling-async`` argument parser; each command's ``handler`` is in the namespace."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export your Kling works through useapi.net, and call its Kling API.",
        epilog=f"Start with `{PROG} demo`: it needs no token and no network.",
        parents=[_global_options(defaults=True)],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    global_options = _global_options(defaults=False)

    def add(
        commands: Subcommands[argparse.ArgumentParser], name: str, *, api: bool, **kwargs: Any
    ) -> argparse.ArgumentParser:
        """A command; one that calls the API (``api``) takes the global options after its name."""
        parents = [global_options] if api else []
        return commands.add_parser(name, parents=parents, allow_abbrev=False, **kwargs)

    def actions(command: argparse.ArgumentParser) -> Subcommands[argparse.ArgumentParser]:
        return command.add_subparsers(dest="action", metavar="ACTION", required=True)

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    export = add(
        commands,
        "export",
        api=True,
        help="download every work of the accounts, with a manifest",
        description="Download every work (watermark-free) into OUT_DIR/<account>/<workId>.<ext> "
        "and list them in OUT_DIR/manifest.jsonl; works that failed are in OUT_DIR/failed.jsonl "
        "(exit status 1). Run it again to resume: files already there are skipped. One export "
        "at a time per folder: a second one stops at once (exit status 2).",
    )
    export.add_argument(
        "out_dir", metavar="OUT_DIR", type=Path, help="where to export (created if missing)"
    )
    export.add_argument(
        "--email",
        action="append",
        help="an account to export; repeat for several (default: every account of the "
        "subscription)",
    )
    _add_content_type(export, "only works of this kind")
    export.add_argument(
        "--file-type",
        type=str.upper,
        choices=FILE_TYPES,
        help="download this type for every work (default: by content type)",
    )
    export.add_argument(
        "--since",
        type=_moment,
        metavar="DATE",
        help="only works created at or after DATE (ISO 8601: 2025-01-31 or "
        "2025-01-31T08:00; UTC unless it has an offset)",
    )
    export.add_argument(
        "--new-only",
        action="store_true",
        help="stop listing an account at the first page whose works are all exported already",
    )
    export.add_argument(
        "--verify",
        action="store_true",
        help="re-hash every exported file against the manifest before deciding what to skip",
    )
    export.add_argument(
        "--dry-run",
        action="store_true",
        help="list and say what would be downloaded, per account and file type; write nothing",
    )
    _add_run_options(export)
    _add_json(export, "print the final report as JSON on stdout")
    export.set_defaults(handler=_commands.export)

    verify = add(
        commands,
        "verify",
        api=False,
        help="check an export folder against its manifest; writes nothing",
        description="Check every file OUT_DIR/manifest.jsonl lists (there, same size, same "
        "SHA-256) and look for files it does not list. Exit status 0 when all is well, 1 when "
        "anything is missing, changed or unexpected, 2 when OUT_DIR holds no manifest.",
    )
    verify.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="the export folder")
    _add_json(verify, "print the report as JSON on stdout")
    verify.set_defaults(handler=_commands.verify)

    demo = add(
        commands,
        "demo",
        api=False,
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
    demo.set_defaults(handler=_commands.demo)

    assets = actions(add(commands, "assets", api=True, help="generated works"))
    assets_list = add(assets, "list", api=True, help="print one page of works as JSON")
    _add_listing(assets_list, 40)
    assets_list.set_defaults(handler=_api_commands.assets_list)

    uploads = actions(add(commands, "uploads", api=True, help="uploaded files"))
    uploads_list = add(uploads, "list", api=True, help="print one page of uploads as JSON")
    _add_listing(uploads_list, 20)
    uploads_list.add_argument("--file-name", help="only names containing this keyword")
    uploads_list.set_defaults(handler=_api_commands.uploads_list)
    upload = add(
        uploads,
        "add",
        api=True,
        help="upload image, video or audio files",
        description="Upload files (POST /assets), several at once; prints each file's new "
        "asset ID, or why it failed (exit status 1 when any failed). Every file is checked "
        "first (there, readable, a type POST /assets takes, within its size limit): one that "
        "is not stops the command before anything is sent (exit status 2).",
    )
    upload.add_argument("files", metavar="FILE", nargs="+", type=Path, help="the files")
    _add_email(upload)
    upload.add_argument(
        "--content-type",
        type=_mime,
        metavar="MIME",
        help="the type of every file (default: guessed from each name): "
        + ", ".join(UPLOAD_LIMITS),
    )
    upload.add_argument(
        "--concurrency", type=_positive, default=4, metavar="N", help="uploads at once (default 4)"
    )
    _add_json(upload, "print the outcome as JSON")
    upload.set_defaults(handler=_api_commands.uploads_add)
    delete = add(
        uploads,
        "delete",
        api=True,
        help="delete uploaded files (no undo)",
        description="Delete uploaded files, 10 per call; prints as JSON which IDs were "
        "deleted, failed or not confirmed (exit status 1 when a call failed). Lists the IDs "
        "on stderr first, then asks on a terminal; without one, it needs --yes.",
    )
    _add_email(delete, required=True)
    delete.add_argument("ids", metavar="ID", nargs="+", help="numeric upload IDs")
    _add_delete_options(delete)
    delete.set_defaults(handler=_api_commands.uploads_delete)

    tasks = actions(add(commands, "tasks", api=True, help="generation tasks"))
    tasks_list = add(
        tasks,
        "list",
        api=True,
        help="print the tasks, newest first",
        description="Print the account's tasks, newest first, one line each: ID, status, "
        "created (UTC), works, type, prompt. --created-before and --created-after are "
        "exclusive bounds, and only one can be given.",
    )
    _add_email(tasks_list)
    _add_content_type(tasks_list, "only tasks of this kind")
    bounds = tasks_list.add_mutually_exclusive_group()
    for name, what in (("before", "where the listing starts"), ("after", "where it ends")):
        bounds.add_argument(
            f"--created-{name}",
            type=_moment,
            metavar="DATE",
            help=f"only tasks created {name} DATE, {what} (ISO 8601: 2025-01-31 or "
            "2025-01-31T08:00; UTC unless it has an offset)",
        )
    _add_limit(tasks_list, "tasks", TASKS_PAGE_SIZE)
    _add_json(tasks_list, "print the tasks as a JSON array, in the wire form")
    tasks_list.set_defaults(handler=_api_commands.tasks_list)
    task_get = add(
        tasks,
        "get",
        api=True,
        help="print one task's status and works",
        description="Print one task: running, or done and whether it succeeded (read from "
        "status_final and status_name), and its works.",
    )
    task_get.add_argument("task_id", metavar="TASK_ID", help="a numeric task ID")
    _add_email(task_get)
    _add_json(task_get, "print the task as JSON, in the wire form")
    task_get.set_defaults(handler=_api_commands.tasks_get)
    task_delete = add(
        tasks,
        "delete",
        api=True,
        help="delete tasks and all their works (no undo)",
        description="Delete tasks, each with every work it produced (DELETE /tasks/{task_id}, "
        "several at once). Lists the task IDs on stderr first, then asks on a terminal; "
        "without one, it needs --yes. Prints each task's outcome: deleted (with its works), "
        "already gone (deleted before, or never the account's: not a failure), or failed "
        "(exit status 1).",
    )
    task_delete.add_argument("task_ids", metavar="TASK_ID", nargs="+", help="numeric task IDs")
    _add_email(task_delete)
    _add_delete_options(task_delete)
    task_delete.add_argument(
        "--concurrency", type=_positive, default=8, metavar="N", help="deletes at once (default 8)"
    )
    _add_json(task_delete, "print the outcome as JSON")
    task_delete.set_defaults(handler=_api_commands.tasks_delete)

    elements = actions(add(commands, "elements", api=True, help="elements"))
    elements_list = add(
        elements,
        "list",
        api=True,
        help="print the elements",
        description="Print the account's elements (or Kling's own, with --official), one "
        "line each: ID, type, created (UTC), name, [official] and [favored].",
    )
    _add_email(elements_list)
    elements_list.add_argument("--tag", help="only elements with this tag (its ID or key)")
    elements_list.add_argument(
        "--official", action="store_true", help="Kling's own elements instead of the account's"
    )
    elements_list.add_argument("--favored", action="store_true", help="only favourites")
    elements_list.add_argument(
        "--sort",
        type=str.lower,
        choices=SORT_ORDERS,
        help="asc (oldest first) or desc (the service's default)",
    )
    _add_limit(elements_list, "elements", ELEMENTS_PAGE_SIZE)
    _add_json(elements_list, "print the elements as a JSON array, in the wire form")
    elements_list.set_defaults(handler=_api_commands.elements_list)
    element_get = add(elements, "get", api=True, help="print one element as JSON")
    element_get.add_argument("element_id", metavar="ID")
    _add_email(element_get)
    element_get.set_defaults(handler=_api_commands.elements_get)

    scheduler = actions(add(commands, "scheduler", api=True, help="running jobs and capacity"))
    available = add(
        scheduler,
        "available",
        api=True,
        help="print how many more jobs each account takes now",
        description="Print each account's free job slots (of its maxJobs) and the tasks this "
        "API token started that still run.",
    )
    _add_json(available, "print the answer as JSON, in the wire form")
    available.set_defaults(handler=_api_commands.scheduler_available)

    fake = add(
        commands,
        "fake-server",
        api=False,
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
    fake.set_defaults(handler=_commands.fake_server)
    return parser
