"""The fake GET /scheduler/available: the jobs this token runs, and each account's free room.

The fake starts no generations, so what runs is derived from each account's seeded user ID
(without drawing from the generator that makes the records): 0 to 2 tasks per account, never
more than its ``maxJobs``, started up to a few minutes before the dataset's "now", with IDs
just above the account's newest task. ``available`` is ``maxJobs - executing``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._data import NOW_MS, AccountData, Dataset
from ._responses import json_response
from ._state import ServerState

__all__ = ["render_capacity", "running_tasks", "scheduler_available"]

_TASK_ID_BASE = 310_000_000  # where the seeded accounts' task ID ranges start
_TASK_ID_STRIDE = 100_000_000  # the width of one account's range


async def scheduler_available(request: Request, state: ServerState) -> Response:
    """GET /scheduler/available: every account's running tasks and free capacity."""
    return json_response(render_capacity(state.dataset))


def running_tasks(account: AccountData) -> list[dict[str, Any]]:
    """The tasks GET /scheduler lists as running on ``account``, oldest first."""
    count = min(account.max_jobs, (account.user_id // 10) % 3)
    newest = (
        account.tasks[0].task_id
        if account.tasks
        else _TASK_ID_BASE + account.index * _TASK_ID_STRIDE
    )
    tasks: list[dict[str, Any]] = []
    for n in range(count):
        elapsed = (count - n) * (45 + account.user_id % 240)  # seconds, the oldest first
        started = datetime.fromtimestamp((NOW_MS - elapsed * 1000) / 1000, timezone.utc)
        task: dict[str, Any] = {
            "id": newest + 1 + n,
            "email": account.email,
            "started": started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "elapsed": f"{elapsed // 60:02d}:{elapsed % 60:02d}",
        }
        if n == 0:  # only some jobs were started with a callback
            task["replyUrl"] = f"https://hooks.example.com/kling/{account.index + 1}"
            task["replyRef"] = f"job-{newest + 1}"
        tasks.append(task)
    return tasks


def render_capacity(dataset: Dataset) -> dict[str, Any]:
    """The body of GET /scheduler/available for ``dataset``."""
    executing: list[dict[str, Any]] = []
    available: list[dict[str, Any]] = []
    for account in dataset.accounts:
        running = running_tasks(account)
        executing.extend(running)
        available.append(
            {
                "email": account.email,
                "maxJobs": account.max_jobs,
                "executing": len(running),
                "available": account.max_jobs - len(running),
            }
        )
    return {"executing": executing, "available": available}
