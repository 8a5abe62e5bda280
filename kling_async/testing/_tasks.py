"""The fake API's task endpoints: GET /tasks, GET /tasks/{task_id}, DELETE /tasks/{task_id}.

What the service leaves undocumented, the fake decides, and says so here:

- GET /tasks: ``pageSize`` defaults to 20 and may be at most 100 (more is a 400, never fewer
  tasks than asked for: a short page would end a client's listing early). Tasks come newest
  first, with ``createdAfter`` too. ``createdBefore`` and ``createdAfter`` are exclusive
  millisecond bounds on the task's ``createTime``; both at once is a 400. Each ``history``
  entry is the task and its works, as GET /tasks/{task_id} gives them.
- Every seeded task is finished and succeeded (``status`` 99, ``"succeed"``, final); GET
  /assets shows the same tasks and works, without the status words.
- GET /tasks/{task_id} of a task the account does not have (or deleted) is a 404
  ``{"error": "Task N not found"}``; a task ID that is not a number is a 400
  ``{"error": "Invalid task_id parameter"}``, as DELETE answers it.
- DELETE /tasks/{task_id} removes the task and its works from every listing (GET /assets and
  GET /tasks), from GET /tasks/{task_id} and from downloads; deleting it again is the
  documented 404 ``{"error": "No works found for task N"}``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._data import AccountData, TaskRecord
from ._params import content_type_param, positive_int_param, query_param, requested_account
from ._responses import APIError, invalid_parameters, json_response
from ._state import ServerState

__all__ = ["TASKS_MAX_PAGE_SIZE", "TASKS_PAGE_SIZE", "delete_task", "get_task", "list_tasks"]

TASKS_PAGE_SIZE = 20
"""GET /tasks' ``pageSize`` when none is given."""

TASKS_MAX_PAGE_SIZE = 100
"""The largest ``pageSize`` GET /tasks takes."""

_MILLISECONDS = re.compile(r"[0-9]{1,15}")
_TASK_ID = re.compile(r"[0-9]{1,40}")
_STATUS = {"status": 99, "status_name": "succeed", "status_final": True}


async def list_tasks(request: Request, state: ServerState) -> Response:
    """GET /tasks: the account's tasks with their works, newest first, one page."""
    account = requested_account(request, state)
    kind = content_type_param(request)
    size = positive_int_param(request, "pageSize", TASKS_PAGE_SIZE)
    if size > TASKS_MAX_PAGE_SIZE:
        raise invalid_parameters(f"pageSize must be at most {TASKS_MAX_PAGE_SIZE}")
    before = _milliseconds(request, "createdBefore")
    after = _milliseconds(request, "createdAfter")
    if before is not None and after is not None:
        raise APIError(400, "Parameters createdBefore and createdAfter cannot be used together")
    tasks = _page(account.tasks_of(kind), before, after, size)
    return json_response({"history": [_entry(account, task) for task in tasks]})


async def get_task(request: Request, state: ServerState) -> Response:
    """GET /tasks/{task_id}: the task's status, the task and its works."""
    account = requested_account(request, state)
    task_id = _task_id(request)
    task = account.task(task_id)
    if task is None:
        raise APIError(404, f"Task {task_id} not found")
    entry = _entry(account, task)
    return json_response(
        {
            **_STATUS,
            "etaTime": entry["etaTime"],
            "etaTimeOverSla": entry["etaTimeOverSla"],
            "queuingEtaTime": entry["queuingEtaTime"],
            "originEtaTime": entry["originEtaTime"],
            "originQueuingEtaTime": entry["originQueuingEtaTime"],
            "message": "success",
            "task": entry["task"],
            "works": entry["works"],
        }
    )


async def delete_task(request: Request, state: ServerState) -> Response:
    """DELETE /tasks/{task_id}: delete the task and all its works."""
    account = requested_account(request, state)
    task_id = _task_id(request)
    task = account.task(task_id)
    if task is None:
        raise APIError(404, f"No works found for task {task_id}")
    account.deleted_task_ids.add(task_id)
    return json_response({"deleted": task.work_count, "workIds": list(task.work_ids)})


def _milliseconds(request: Request, name: str) -> int | None:
    value = query_param(request, name)
    if value is None:
        return None
    if not _MILLISECONDS.fullmatch(value):
        raise invalid_parameters(f"{name} must be a time in milliseconds since the epoch")
    return int(value)


def _task_id(request: Request) -> int:
    raw: str = request.path_params["task_id"]
    if not _TASK_ID.fullmatch(raw):
        raise APIError(400, "Invalid task_id parameter")
    return int(raw)


def _page(
    tasks: Sequence[TaskRecord], before: int | None, after: int | None, size: int
) -> list[TaskRecord]:
    """The newest ``size`` tasks created strictly between the bounds (``tasks`` is newest first)."""
    # Newest first: the tasks at or after ``before`` are a prefix, found by bisection.
    start = 0 if before is None else bisect.bisect_right(tasks, -before, key=_newest_first)
    page: list[TaskRecord] = []
    for task in tasks[start : start + size]:
        if after is not None and task.create_time <= after:
            break
        page.append(task)
    return page


def _newest_first(task: TaskRecord) -> int:
    return -task.create_time


def _entry(account: AccountData, task: TaskRecord) -> dict[str, Any]:
    """The task and its works as the task endpoints send them.

    GET /assets' history entry, with the status words next to each ``status``.
    """
    entry = account.render_history_entry(task)
    entry["task"] = _with_status(entry["task"])
    entry["works"] = [_with_status(work) for work in entry["works"]]
    return entry


def _with_status(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with ``status_name`` and ``status_final`` right after its ``status``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        out[key] = value
        if key == "status":
            out.update(_STATUS)
    return out
