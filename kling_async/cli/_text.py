"""Plain text of the API commands: one line per task, work, element or account.

The lines carry what the service sent (prompts, names, messages), so each value is made safe
to print first: the token hidden, control characters (a terminal's escape sequences, line
breaks) shown as spaces, and long values cut. A line is meant for people; ``--json`` is the
form for programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .._models import (
    AccountCapacity,
    Element,
    HistoryEntry,
    RunningTask,
    TaskDetail,
    UploadResult,
    Work,
)
from .._models._common import datetime_from_ms
from .._redact import redact_text

__all__ = [
    "PROMPT_WIDTH",
    "account_line",
    "cell",
    "count",
    "detail_lines",
    "element_line",
    "moment",
    "running_line",
    "task_line",
    "upload_line",
    "work_line",
]

PROMPT_WIDTH = 60
"""The most characters of a prompt or a name a line shows."""


def cell(value: object, secrets: Sequence[str | None], width: int | None = None) -> str:
    """``value`` as one safe piece of a line: no token, no control character, at most ``width``.

    None is ``-``. Whitespace runs become one space; a value cut short ends with ``...``.
    """
    if value is None:
        return "-"
    text = redact_text(str(value), *secrets)
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    text = redact_text(text, *secrets)  # a token split by a control character is whole again
    if width is not None and len(text) > width:
        text = text[: width - 3].rstrip() + "..."
    return text or "-"


def moment(value: datetime | int | None) -> str:
    """A moment (a datetime, or ms since the epoch) as ISO 8601 UTC to the second, else ``-``.

    The form ``--created-before`` and ``--created-after`` take back.
    """
    when = datetime_from_ms(value) if isinstance(value, int) else value
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else "-"


def count(number: int, noun: str) -> str:
    """``1 work``, ``2 works``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def task_line(entry: HistoryEntry, secrets: Sequence[str | None]) -> str:
    """One task of a listing: ID, status, created, works, type, prompt."""
    task = entry.task
    status = None
    prompt = None
    if task is not None:
        status = task.status_name if task.status_name is not None else task.status
        prompt = task.task_info.prompt if task.task_info is not None else None
    if prompt is None and entry.works:
        prompt = entry.works[0].prompt
    return "  ".join(
        [
            cell(entry.task_id, secrets),
            f"{cell(status, secrets):<9}",
            moment(task.create_time if task is not None else None),
            f"{count(len(entry.works), 'work'):>8}",
            f"{cell(task.type if task is not None else None, secrets):<18}",
            cell(prompt, secrets, PROMPT_WIDTH),
        ]
    )


def work_line(work: Work, secrets: Sequence[str | None]) -> str:
    """One work of a task: ID, content type, created, its file's URL."""
    url = work.resource.resource if work.resource is not None else None
    return "  ".join(
        [
            cell(work.work_id, secrets),
            cell(work.content_type, secrets),
            moment(work.create_time),
            cell(url, secrets),
        ]
    )


def detail_lines(detail: TaskDetail, task_id: int, secrets: Sequence[str | None]) -> list[str]:
    """One task's status (running, or done and how) and its works, as `tasks get` shows it."""
    if not detail.done:
        state = "running"
    else:
        state = "done, succeeded" if detail.succeeded else "done, failed"
    status = detail.status_name if detail.status_name is not None else detail.status
    task = detail.task
    info = task.task_info if task is not None else None
    lines = [
        f"task {cell(detail.task_id or task_id, secrets)}: {cell(status, secrets)} ({state})",
        f"created  {moment(detail.created_at)}",
        f"type     {cell(task.type if task is not None else None, secrets)}",
        f"prompt   {cell(info.prompt if info is not None else None, secrets)}",
    ]
    if detail.message:
        lines.append(f"message  {cell(detail.message, secrets)}")
    if detail.error:
        lines.append(f"error    {cell(detail.error, secrets)}")
    lines.append(f"works    {len(detail.works)}")
    lines.extend(f"  {work_line(work, secrets)}" for work in detail.works)
    return lines


def element_line(element: Element, secrets: Sequence[str | None]) -> str:
    """One element: ID, type, created, name, and whether it is official or a favourite."""
    marks = [f"[{mark}]" for mark in ("official", "favored") if getattr(element, mark) is True]
    return "  ".join(
        [
            cell(element.id, secrets),
            f"{cell(element.type, secrets):<5}",
            moment(element.created_at),
            cell(element.name, secrets, PROMPT_WIDTH),
            *marks,
        ]
    )


def upload_line(
    path: str, result: UploadResult, asset_id: str | None, secrets: Sequence[str | None]
) -> str:
    """One uploaded file: the path given, the new asset's ID, the name the service gave it."""
    url = result.url or result.resource_url
    return (
        f"uploaded  {cell(path, secrets)}  id {cell(asset_id, secrets)}  "
        f"name {cell(result.file_name, secrets)}  {cell(url, secrets)}"
    )


def account_line(account: AccountCapacity, secrets: Sequence[str | None]) -> str:
    """One account's room: jobs free of its most, and running now."""
    return (
        f"{cell(account.email, secrets)}  {cell(account.available, secrets)} of "
        f"{cell(account.max_jobs, secrets)} free ({cell(account.executing, secrets)} running)"
    )


def running_line(task: RunningTask, secrets: Sequence[str | None]) -> str:
    """One running task the scheduler tracks: ID, account, started, elapsed."""
    return "  ".join(
        [
            cell(task.id, secrets),
            cell(task.email, secrets),
            f"started {moment(task.started_at)}",
            f"elapsed {cell(task.elapsed, secrets)}",
        ]
    )
