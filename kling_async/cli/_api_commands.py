"""The commands of the API's endpoints, one function each: ``handler(args) -> exit status``.

Each takes the namespace `kling_async.cli._parser.build_parser` made. Options go to the SDK
by keyword; only the IDs a call is about go by position. Every ID, email and file is checked
before anything is sent (exit status 2 otherwise). The older commands (``assets list``,
``uploads list``, ``uploads delete``, ``elements get``) print JSON only; the others print
lines for people, and JSON with ``--json``. Whatever the service sent is printed with the
token hidden.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from contextlib import aclosing, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from .._client import KlingClient
from .._converter import unstructure
from .._exceptions import InvalidInputError, KlingError
from .._models import UploadResult
from .._params import (
    check_upload_size,
    normalize_email,
    normalize_id,
    normalize_ids,
    upload_content_type,
)
from .._redact import redact_text
from .._resources import UploadFile
from .._resources._options import ELEMENTS_PAGE_SIZE, TASKS_PAGE_SIZE
from ._confirm import ask, check_can_confirm, preview
from ._run import (
    PROG,
    UsageError,
    call,
    make_client,
    print_json,
    redacted,
    run_on_loop,
    secrets_of,
)
from ._text import (
    account_line,
    cell,
    count,
    detail_lines,
    element_line,
    running_line,
    task_line,
    upload_line,
)

if TYPE_CHECKING:
    from ..batch import TaskDeleteBatchResult, UploadBatchResult

__all__ = [
    "assets_list",
    "elements_get",
    "elements_list",
    "scheduler_available",
    "tasks_delete",
    "tasks_get",
    "tasks_list",
    "uploads_add",
    "uploads_delete",
    "uploads_list",
]

T = TypeVar("T")
Secrets = Sequence[str | None]


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


def tasks_list(args: argparse.Namespace) -> int:
    """``tasks list``: the account's tasks, newest first, all of them or the first ``--limit``."""
    return _list(
        args,
        lambda client, page_size: client.tasks.iter_tasks(
            email=args.email,
            content_type=args.content_type,
            created_after=args.created_after,
            created_before=args.created_before,
            page_size=page_size,
        ),
        task_line,
        noun="task",
        page_size=TASKS_PAGE_SIZE,
    )


def tasks_get(args: argparse.Namespace) -> int:
    """``tasks get``: one task's status (running, or done and how) and its works."""
    task_id = normalize_id(args.task_id, "TASK_ID")
    detail = call(args, lambda client: client.tasks.get(task_id, email=args.email))
    secrets = secrets_of(args)
    if args.json:
        print_json(redacted(unstructure(detail), secrets))
    else:
        _say(*detail_lines(detail, task_id, secrets))
    return 0


def elements_list(args: argparse.Namespace) -> int:
    """``elements list``: the account's elements (or Kling's own), all or the first ``--limit``."""
    return _list(
        args,
        lambda client, page_size: client.elements.iter_elements(
            email=args.email,
            favored=True if args.favored else None,
            official=True if args.official else None,
            page_size=page_size,
            sort=args.sort,
            tag=args.tag,
        ),
        element_line,
        noun="element",
        page_size=ELEMENTS_PAGE_SIZE,
    )


def scheduler_available(args: argparse.Namespace) -> int:
    """``scheduler available``: the room left on each account, and the tasks running."""
    capacity = call(args, lambda client: client.scheduler.available())
    secrets = secrets_of(args)
    if args.json:
        print_json(redacted(unstructure(capacity), secrets))
        return 0
    _say(*(account_line(account, secrets) for account in capacity.available))
    running = capacity.executing
    heading = f"{capacity.total_available} free in all; {count(len(running), 'task')} running"
    _say(
        heading + (":" if running else ""),
        *(f"  {running_line(task, secrets)}" for task in running),
    )
    return 0


# -- deletes --------------------------------------------------------------------------------------


def tasks_delete(args: argparse.Namespace) -> int:
    """``tasks delete``: delete tasks with all their works, once confirmed; print each outcome."""
    from .. import batch

    ids = [int(id_) for id_ in normalize_ids(args.task_ids, name="TASK_ID")]
    email = normalize_email(args.email)
    client = make_client(args)
    what = count(len(ids), "task")
    their = "its" if len(ids) == 1 else "their"
    if args.dry_run:
        call(args, _nothing, client=client)  # the client's options checked; nothing sent
        return _would_delete(args, ids, f"{what} and all {their} works", email)
    with _closed_unless_confirmed(args, client):
        check_can_confirm(yes=args.yes, what=what)
        preview(
            f"About to delete {what} and all {their} works{_on(email)}, for good:",
            [str(id_) for id_ in ids],
        )
        ask(f"Delete {what} and all {their} works?", yes=args.yes)
    result: TaskDeleteBatchResult = call(
        args,
        lambda client: batch.delete_tasks(client, ids, email=email, concurrency=args.concurrency),
        client=client,
    )
    _show_task_deletes(args, result)
    return 0 if result.ok else 1


def uploads_delete(args: argparse.Namespace) -> int:
    """``uploads delete``: delete uploads 10 per call, once confirmed; print what was deleted."""
    from .. import batch

    ids = list(normalize_ids(args.ids, name="ID"))  # every ID is checked before any request
    email = normalize_email(args.email)
    client = make_client(args)
    what = count(len(ids), "uploaded file")
    if args.dry_run:
        call(args, _nothing, client=client)
        print_json({"dry_run": True, "would_delete": ids})
        return 0
    with _closed_unless_confirmed(args, client):
        check_can_confirm(yes=args.yes, what=what)
        preview(f"About to delete {what}{_on(email)}, for good:", ids)
        ask(f"Delete {what}?", yes=args.yes)
    result = call(
        args, lambda client: batch.delete_uploaded(client, ids, email=email), client=client
    )
    failed = [
        {"ids": list(chunk.ids), "error": redact_text(str(chunk.error), *secrets_of(args))}
        for chunk in result.chunks
        if chunk.error is not None
    ]
    print_json(
        {
            "deleted": list(result.succeeded_ids),
            "unconfirmed": list(result.unconfirmed_ids),
            "failed": failed,
        }
    )
    return 0 if result.ok else 1


@contextmanager
def _closed_unless_confirmed(args: argparse.Namespace, client: KlingClient) -> Iterator[None]:
    """Close ``client`` (never used) when the confirmation ends the command instead."""
    try:
        yield
    except BaseException:
        run_on_loop(client.aclose, args.backend)
        raise


def _would_delete(args: argparse.Namespace, ids: list[int], what: str, email: str | None) -> int:
    """A dry run's answer: what would be deleted, and nothing was."""
    if args.json:
        print_json({"dry_run": True, "would_delete": ids})
    else:
        _say(*(f"would delete  {id_}" for id_ in ids))
        _say(f"dry run: {what} would be deleted{_on(email)}; nothing was sent")
    return 0


def _show_task_deletes(args: argparse.Namespace, result: TaskDeleteBatchResult) -> None:
    secrets = secrets_of(args)
    deleted = [
        {"task_id": chunk.ids[0], "work_ids": list(chunk.value.work_ids)}
        for chunk in result.succeeded
    ]
    failed = [
        {"task_id": chunk.ids[0], "error": cell(chunk.error, secrets)} for chunk in result.failed
    ]
    if args.json:
        print_json(
            {"deleted": deleted, "already_gone": list(result.already_gone_ids), "failed": failed}
        )
        return
    gone = set(result.already_gone_ids)
    for chunk in result.chunks:
        (task_id,) = chunk.ids
        if chunk.value is not None:
            _say(f"deleted       {task_id} ({count(len(chunk.value.work_ids), 'work')})")
        elif task_id in gone:
            _say(f"already gone  {task_id}")
        else:
            _say(f"failed        {task_id}: {cell(chunk.error, secrets)}")
    works = count(len(result.deleted_work_ids), "work")
    _say(f"{len(deleted)} deleted ({works}), {len(gone)} already gone, {len(failed)} failed")


# -- uploads --------------------------------------------------------------------------------------


def uploads_add(args: argparse.Namespace) -> int:
    """``uploads add``: upload files concurrently; print each one's new asset ID or failure."""
    from .. import batch

    paths = [os.fsdecode(path) for path in args.files]
    email = normalize_email(args.email)
    problems = [problem for path in paths if (problem := _upload_problem(path, args.content_type))]
    if problems:
        raise UsageError(
            f"{count(len(problems), 'file')} of {len(paths)} cannot be uploaded, so none was "
            f"sent: {'; '.join(problems)}"
        )
    sources = [UploadFile(path, content_type=args.content_type) for path in paths]

    async def upload(client: KlingClient) -> tuple[UploadBatchResult, list[str | None]]:
        result = await batch.upload(client, sources, email=email, concurrency=args.concurrency)
        return result, await _asset_ids(client, result.results, email, args.concurrency)

    result, asset_ids = call(args, upload)
    _show_uploads(args, paths, result, asset_ids)
    return 0 if result.ok else 1


def _upload_problem(path: str, content_type: str | None) -> str | None:
    """Why ``path`` cannot be uploaded, as `UploadsResource.create` would refuse it; or None."""
    label = repr(path)
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):  # and not opened: a FIFO would wait for a writer
            return f"{label} is not a regular file"
        with open(path, "rb"):
            pass
        mime = upload_content_type(content_type, os.path.basename(path))  # as the SDK guesses
        check_upload_size(status.st_size, mime, label)
    except InvalidInputError as error:
        return str(error)
    except OSError as error:
        return f"{label}: cannot read it ({error.strerror})"
    return None


async def _asset_ids(
    client: KlingClient,
    results: Sequence[UploadResult | None],
    email: str | None,
    concurrency: int,
) -> list[str | None]:
    """The asset ID of each upload, looked up by its new file name; None where not found.

    POST /assets answers with the file's name, not its ID (which ``uploads delete`` takes):
    one GET /assets/uploaded?fileName= per upload finds it. A lookup that fails leaves the
    ID unknown; the upload itself went through.
    """
    found: list[str | None] = [None] * len(results)
    limiter = anyio.CapacityLimiter(concurrency)

    async def look_up(position: int, name: str) -> None:
        async with limiter:
            try:
                page = await client.uploads.list(file_name=name, email=email)
            except KlingError:
                return
        found[position] = next((a.id for a in page.upload_assets_list if a.name == name), None)

    async with anyio.create_task_group() as tg:
        for position, result in enumerate(results):
            if result is not None and result.file_name:
                tg.start_soon(look_up, position, result.file_name)
    return found


def _show_uploads(
    args: argparse.Namespace,
    paths: Sequence[str],
    result: UploadBatchResult,
    asset_ids: Sequence[str | None],
) -> None:
    secrets = secrets_of(args)
    uploaded: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    lines = []
    for path, chunk, asset_id in zip(paths, result.chunks, asset_ids, strict=True):
        if chunk.value is not None:
            uploaded.append({"file": path, "id": asset_id, "upload": unstructure(chunk.value)})
            lines.append(upload_line(path, chunk.value, asset_id, secrets))
        else:
            failed.append({"file": path, "error": cell(chunk.error, secrets)})
            lines.append(f"failed    {cell(path, secrets)}: {cell(chunk.error, secrets)}")
    if args.json:
        print_json(redacted({"uploaded": uploaded, "failed": failed}, secrets))
        return
    _say(*lines, f"{len(uploaded)} uploaded, {len(failed)} failed")
    unknown = [entry for entry in uploaded if entry["id"] is None]
    if unknown:
        name = cell(unknown[0]["upload"].get("fileName"), secrets)
        print(
            f"{PROG}: the ID of {count(len(unknown), 'upload')} could not be looked up; "
            f"`{PROG} uploads list --file-name {name}` lists one",
            file=sys.stderr,
        )


# -- what the commands share ----------------------------------------------------------------------


def _show(args: argparse.Namespace, command: Callable[[KlingClient], Awaitable[Any]]) -> int:
    """Run ``command`` as `call` does and print what it returns as JSON, in the wire form."""
    print_json(unstructure(call(args, command)))
    return 0


def _list(
    args: argparse.Namespace,
    items: Callable[[KlingClient, int], AsyncGenerator[T, None]],
    line: Callable[[T, Secrets], str],
    *,
    noun: str,
    page_size: int,
) -> int:
    """Print what ``items`` yields, one line each as it comes (or JSON at the end).

    Stops after ``--limit`` items, closing the listing; without ``--page-size``, pages are no
    larger than the limit, so a small one costs one small request.
    """
    secrets = secrets_of(args)
    limit: int | None = args.limit
    if args.page_size is not None:
        page_size = args.page_size
    elif limit is not None:
        page_size = min(page_size, limit)

    async def run(client: KlingClient) -> list[Any]:
        kept: list[Any] = []
        listed = 0
        listing = items(client, page_size)
        async with aclosing(listing):
            async for item in listing:
                if args.json:
                    kept.append(unstructure(item))
                else:
                    _say(line(item, secrets))
                listed += 1
                if listed == limit:
                    break
        if not listed and not args.json:
            print(f"no {noun}s", file=sys.stderr)
        return kept

    kept = call(args, run)
    if args.json:
        print_json(redacted(kept, secrets))
    return 0


def _say(*lines: str) -> None:
    """Print lines on stdout at once: a listing shows as it goes."""
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def _on(email: str | None) -> str:
    return f" on {email}" if email is not None else ""


async def _nothing(client: KlingClient) -> None:
    """A call that sends nothing: a dry run opens and closes the client only."""
