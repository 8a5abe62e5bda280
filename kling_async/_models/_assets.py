"""The models of GET /assets and GET /assets/download.

Generated works, the tasks that made them, the account's quotas, and download URLs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._common import datetime_from_ms, free_form

__all__ = [
    "AssetsPage",
    "DownloadFileType",
    "DownloadInfo",
    "DownloadResult",
    "HistoryEntry",
    "Limitation",
    "PointsGrant",
    "Resource",
    "SelfComment",
    "Task",
    "TaskArgument",
    "TaskInfo",
    "TaskInput",
    "Ticket",
    "UserPoints",
    "UserTickets",
    "Work",
]


# --- GET /assets ----------------------------------------------------------------------------


@attrs.frozen
class Limitation:
    """A generation quota of the account: how many of one task type it may still run.

    Attributes:
        type: the task type the quota applies to, e.g. ``"m2v_txt2video_hq"``.
        remaining: how many are left.
        limit: the quota itself.
    """

    type: str | None = None
    remaining: int | None = None
    limit: int | None = None


@attrs.frozen
class Resource:
    """A media file on Kling's CDN: a work's output or cover, or an uploaded file.

    Attributes:
        resource: the file's URL.
        height: height in pixels.
        width: width in pixels.
        duration: length in milliseconds; 0 for a still image.
        resource_key: Kling's storage key, usually empty.
    """

    resource: str | None = None
    height: int | None = None
    width: int | None = None
    duration: int | None = None
    resource_key: str | None = None


@attrs.frozen
class TaskInput:
    """One input file of a generation task (a source image, a video to extend, ...).

    Attributes:
        name: the input's role, e.g. ``"input"``.
        input_type: how the input is given, e.g. ``"URL"``.
        token: an upload token, when the input was uploaded that way.
        blob_storage: a storage reference, when there is one.
        url: the input's URL.
        cover: the input's cover URL, when there is one.
        from_work_id: the work the input was taken from, when it came from a work.
        from_upload_id: the uploaded asset the input was taken from, when there is one.
    """

    name: str | None = None
    input_type: str | None = None
    token: str | None = None
    blob_storage: str | None = None
    url: str | None = None
    cover: str | None = None
    from_work_id: int | None = None
    from_upload_id: int | None = None


@attrs.frozen
class TaskArgument:
    """One named setting of a generation task; every value is a string on the wire.

    Attributes:
        name: the setting, e.g. ``"prompt"``, ``"duration"``, ``"kling_version"``.
        value: its value, e.g. ``"5"`` for a duration.
    """

    name: str | None = None
    value: str | None = None


@attrs.frozen
class TaskInfo:
    """What a task was asked to do: its type, input files and settings.

    Attributes:
        type: the task type, e.g. ``"m2v_img2video_hq"``.
        inputs: the input files.
        arguments: the settings, in the server's order (see `arguments_by_name`).
        extra_args: free-form extra settings.
        callback_payloads: free-form callback data.
        scene: the creation scene, e.g. ``"NORMAL_CREATION"``.
    """

    type: str | None = None
    inputs: tuple[TaskInput, ...] = ()
    arguments: tuple[TaskArgument, ...] = ()
    extra_args: dict[str, Any] = attrs.field(factory=dict, hash=False)
    callback_payloads: tuple[Any, ...] = free_form()
    scene: str | None = None

    @property
    def arguments_by_name(self) -> dict[str, str]:
        """The settings as a ``{name: value}`` dict.

        An argument missing its name or value is left out; if a name repeats, the first
        occurrence wins.
        """
        by_name: dict[str, str] = {}
        for argument in self.arguments:
            if argument.name is not None and argument.value is not None:
                by_name.setdefault(argument.name, argument.value)
        return by_name

    @property
    def prompt(self) -> str | None:
        """The ``prompt`` argument, or None when the task has none."""
        return self.arguments_by_name.get("prompt")


@attrs.frozen
class SelfComment:
    """The account owner's own rating of a work.

    Attributes:
        rate: the rating.
        tags: free-form tags.
        content: the comment's text.
        prompts: free-form prompt notes.
    """

    rate: int | None = None
    tags: tuple[Any, ...] = free_form()
    content: str | None = None
    prompts: tuple[Any, ...] = free_form()


@attrs.frozen
class DownloadFileType:
    """One file type a work can be downloaded as.

    Attributes:
        type: ``"MP4"``, ``"MP3"``, ``"WAV"`` or ``"PNG"``.
        watermark: whether the normal download of this type carries a watermark.
    """

    type: str | None = None
    watermark: bool | None = None


@attrs.frozen
class DownloadInfo:
    """The file types a work can be downloaded as.

    Attributes:
        file_types: one entry per type.
    """

    file_types: tuple[DownloadFileType, ...] = ()


@attrs.frozen
class Work:
    """One generated output (a video, an image, a sound) of a task.

    Its `work_id` is what GET /assets/download takes. Timestamps are milliseconds since the
    Unix epoch; `created_at`, `submitted_at` and `published_at` give them as datetimes.

    Attributes:
        work_id: the work's ID.
        task_id: the task that produced it (its `Task.id`).
        work_item_id: the item within the work.
        user_id: the Kling user who owns it.
        type: the task type, e.g. ``"m2v_img2video_hq"``.
        status: Kling's numeric status code.
        status_name: the status in words, e.g. ``"succeed"`` (sent by GET /tasks).
        status_final: whether the work's task is over (sent by GET /tasks).
        content_type: ``"video"``, ``"image"`` or ``"audio"``.
        resource: the output file.
        cover: the output's cover image.
        star_num: how many stars it received.
        clone_count: how many times it was cloned.
        report_num: how many times it was reported.
        create_time: creation time, in ms.
        task_info: what the task was asked to do.
        self_attitude: the owner's reaction, e.g. ``"unknown"``.
        self_comment: the owner's rating.
        favored: whether the owner marked it favourite.
        starred: whether the owner starred it.
        publish_status: e.g. ``"unpublished"``.
        deleted: whether it was deleted.
        publish_time: publication time in ms; 0 when never published.
        submit_time: submission time, in ms.
        lip_sync_status: Kling's numeric lip-sync status code.
        download_info: the file types it can be downloaded as.
        allow_publish: whether it may be published.
    """

    work_id: int
    task_id: int
    work_item_id: int | None = None
    user_id: int | None = None
    type: str | None = None
    status: int | None = None
    status_name: str | None = attrs.field(default=None, metadata={"wire_name": "status_name"})
    status_final: bool | None = attrs.field(default=None, metadata={"wire_name": "status_final"})
    content_type: str | None = None
    resource: Resource | None = None
    cover: Resource | None = None
    star_num: int | None = None
    clone_count: int | None = None
    report_num: int | None = None
    create_time: int | None = None
    task_info: TaskInfo | None = None
    self_attitude: str | None = None
    self_comment: SelfComment | None = None
    favored: bool | None = None
    starred: bool | None = None
    publish_status: str | None = None
    deleted: bool | None = None
    publish_time: int | None = None
    submit_time: int | None = None
    lip_sync_status: int | None = None
    download_info: DownloadInfo | None = None
    allow_publish: bool | None = None

    @property
    def created_at(self) -> datetime | None:
        """`create_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.create_time)

    @property
    def submitted_at(self) -> datetime | None:
        """`submit_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.submit_time)

    @property
    def published_at(self) -> datetime | None:
        """`publish_time` as an aware UTC datetime, or None when the work is unpublished."""
        return datetime_from_ms(self.publish_time)

    @property
    def prompt(self) -> str | None:
        """The text prompt the work was generated from, or None when there was none."""
        return self.task_info.prompt if self.task_info is not None else None


@attrs.frozen
class Task:
    """A generation task: one request to Kling, which produces one or more works.

    Attributes:
        id: the task's ID (the works' `Work.task_id`).
        user_id: the Kling user who ran it.
        type: the task type, e.g. ``"m2v_img2video_hq"``.
        scene: the creation scene, e.g. ``"NORMAL_CREATION"``.
        status: Kling's numeric status code.
        status_name: the status in words, e.g. ``"submitted"``, ``"succeed"`` (sent by the
            task endpoints, not by GET /assets).
        status_final: whether the task is over, well or not (sent by the task endpoints).
        task_info: what the task was asked to do.
        favored: whether the owner marked it favourite.
        deleted: whether it was deleted.
        viewed: whether the owner has seen its result.
        create_time: creation time, in ms.
        update_time: last update time, in ms.
        view_time: when the owner last viewed it, in ms.
    """

    id: int
    user_id: int | None = None
    type: str | None = None
    scene: str | None = None
    status: int | None = None
    status_name: str | None = attrs.field(default=None, metadata={"wire_name": "status_name"})
    status_final: bool | None = attrs.field(default=None, metadata={"wire_name": "status_final"})
    task_info: TaskInfo | None = None
    favored: bool | None = None
    deleted: bool | None = None
    viewed: bool | None = None
    create_time: int | None = None
    update_time: int | None = None
    view_time: int | None = None

    @property
    def created_at(self) -> datetime | None:
        """`create_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.create_time)

    @property
    def updated_at(self) -> datetime | None:
        """`update_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.update_time)


@attrs.frozen
class HistoryEntry:
    """One task of the GET /assets or GET /tasks history, with its works and its queue times.

    Attributes:
        works: the task's outputs.
        task: the task itself.
        eta_time: estimated time to completion.
        eta_time_over_sla: whether the estimate exceeds the service level.
        queuing_eta_time: estimated time left in the queue.
        origin_eta_time: the first estimate of `eta_time`.
        origin_queuing_eta_time: the first estimate of `queuing_eta_time`.
        current_timestamp: the server's clock when it answered, in ms.
    """

    works: tuple[Work, ...] = ()
    task: Task | None = None
    eta_time: int | None = None
    eta_time_over_sla: bool | None = None
    queuing_eta_time: int | None = None
    origin_eta_time: int | None = None
    origin_queuing_eta_time: int | None = None
    current_timestamp: int | None = None

    @property
    def task_id(self) -> int | None:
        """The task's ID: `Task.id`, else the works' `Work.task_id`; None when neither is sent."""
        if self.task is not None:
            return self.task.id
        return self.works[0].task_id if self.works else None


@attrs.frozen
class PointsGrant:
    """One grant of credits (a plan's monthly allowance, a purchase, a reward).

    Attributes:
        order_id: the order that granted them.
        type: the grant's kind, e.g. ``"plan"``.
        amount: credits granted.
        balance: credits left.
        start_time: when they became usable, in ms.
        end_time: when they expire, in ms.
    """

    order_id: str | None = None
    type: str | None = None
    amount: int | None = None
    balance: int | None = None
    start_time: int | None = None
    end_time: int | None = None

    @property
    def starts_at(self) -> datetime | None:
        """`start_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.start_time)

    @property
    def ends_at(self) -> datetime | None:
        """`end_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.end_time)


@attrs.frozen
class UserPoints:
    """The account's credits.

    Attributes:
        points: every grant.
        total: the credits left over all grants.
    """

    points: tuple[PointsGrant, ...] = ()
    total: int | None = None


@attrs.frozen
class Ticket:
    """One grant of tickets (priority slots, extensions, free generations).

    Attributes:
        order_id: the order that granted them.
        type: what a ticket is good for, e.g. ``"priority"``.
        package_type: where it came from, e.g. ``"reward"``.
        amount: tickets granted.
        balance: tickets left.
        start_time: when they became usable, in ms.
        end_time: when they expire, in ms.
    """

    order_id: str | None = None
    type: str | None = None
    package_type: str | None = None
    amount: int | None = None
    balance: int | None = None
    start_time: int | None = None
    end_time: int | None = None

    @property
    def starts_at(self) -> datetime | None:
        """`start_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.start_time)

    @property
    def ends_at(self) -> datetime | None:
        """`end_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.end_time)


@attrs.frozen
class UserTickets:
    """The account's tickets.

    Attributes:
        ticket: every grant of tickets.
    """

    ticket: tuple[Ticket, ...] = ()


@attrs.frozen
class AssetsPage:
    """One page of GET /assets: the generation history, quotas, credits and tickets.

    Attributes:
        limitations: the account's generation quotas.
        history: one entry per task, newest first unless asked otherwise.
        user_points: the account's credits.
        user_tickets: the account's tickets.
    """

    limitations: tuple[Limitation, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    user_points: UserPoints | None = None
    user_tickets: UserTickets | None = None

    @property
    def works(self) -> tuple[Work, ...]:
        """Every work of every history entry, in page order."""
        return tuple(work for entry in self.history for work in entry.works)


# --- GET /assets/download --------------------------------------------------------------------


@attrs.frozen
class DownloadResult:
    """The answer of GET /assets/download.

    Attributes:
        cdn_url: where to fetch the download: the file itself for one work and one file
            type, otherwise a .zip.
        status: ``"success"`` when the download is ready.
    """

    cdn_url: str
    status: str | None = None
