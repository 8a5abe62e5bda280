"""The models of GET /tasks, GET /tasks/{task_id} and DELETE /tasks/{task_id}.

A page of the task listing is a history of `HistoryEntry` objects, the same task-and-works
pair GET /assets lists; one task's status, with its works, is a `TaskDetail`.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ._assets import HistoryEntry, Task, Work
from ._common import datetime_from_ms

__all__ = ["TaskDeleteResult", "TaskDetail", "TasksPage"]

SUCCEEDED = "succeed"
"""The ``status_name`` of a task that finished well; any other final status is a failure."""


# --- GET /tasks ------------------------------------------------------------------------------


@attrs.frozen
class TasksPage:
    """One page of GET /tasks: generation tasks with their works, newest first.

    Attributes:
        history: one entry per task: the `Task` (``task``) and its outputs (``works``).
    """

    history: tuple[HistoryEntry, ...] = ()

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The tasks of the page, in page order (entries without a ``task`` left out)."""
        return tuple(entry.task for entry in self.history if entry.task is not None)

    @property
    def works(self) -> tuple[Work, ...]:
        """Every work of every task of the page, in page order."""
        return tuple(work for entry in self.history for work in entry.works)


# --- GET /tasks/{task_id} --------------------------------------------------------------------


@attrs.frozen
class TaskDetail:
    """One task's status, with the task and its works (GET /tasks/{task_id}).

    Whether the task is over, and how it ended, is read from `status_final` and
    `status_name` (see `done` and `succeeded`), never from the numeric `status`: Kling does
    not document its numbers.

    Attributes:
        status: Kling's numeric status code (e.g. 5 submitted, 99 succeeded).
        status_name: the status in words, e.g. ``"submitted"``, ``"succeed"``.
        status_final: whether the task is over (succeeded or failed).
        eta_time: estimated time to completion.
        eta_time_over_sla: whether the estimate exceeds the service level.
        queuing_eta_time: estimated time left in the queue.
        origin_eta_time: the first estimate of `eta_time`.
        origin_queuing_eta_time: the first estimate of `queuing_eta_time`.
        message: the service's message, e.g. ``"success"``.
        error: what went wrong, on some failed tasks.
        task: the task itself.
        works: the task's outputs (none until it succeeds).
    """

    status: int | None = None
    status_name: str | None = attrs.field(default=None, metadata={"wire_name": "status_name"})
    status_final: bool | None = attrs.field(default=None, metadata={"wire_name": "status_final"})
    eta_time: int | None = None
    eta_time_over_sla: bool | None = None
    queuing_eta_time: int | None = None
    origin_eta_time: int | None = None
    origin_queuing_eta_time: int | None = None
    message: str | None = None
    error: str | None = None
    task: Task | None = None
    works: tuple[Work, ...] = ()

    @property
    def done(self) -> bool:
        """Whether the task is over, well or not: `status_final` is true."""
        return self.status_final is True

    @property
    def succeeded(self) -> bool:
        """Whether the task is over and succeeded: final, with `status_name` ``"succeed"``."""
        return self.done and self.status_name == SUCCEEDED

    @property
    def failed(self) -> bool:
        """Whether the task is over without success: final, with any other `status_name`."""
        return self.done and self.status_name != SUCCEEDED

    @property
    def task_id(self) -> int | None:
        """The task's ID: `Task.id`, else the works' `Work.task_id`; None when neither is sent."""
        if self.task is not None:
            return self.task.id
        return self.works[0].task_id if self.works else None

    @property
    def created_at(self) -> datetime | None:
        """The task's creation time as an aware UTC datetime; None when unknown."""
        return datetime_from_ms(self.task.create_time) if self.task is not None else None


# --- DELETE /tasks/{task_id} -----------------------------------------------------------------


@attrs.frozen
class TaskDeleteResult:
    """The answer of DELETE /tasks/{task_id}: the task's works, deleted for good.

    Attributes:
        deleted: how many works were deleted.
        work_ids: the IDs of the deleted works.
    """

    deleted: int | None = None
    work_ids: tuple[int, ...] = ()
