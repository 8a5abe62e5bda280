"""The SDK's /assets models written for pydantic v2: same fields, types, defaults, nesting.

CamelCase wire names come from an alias generator; models are frozen and lists are tuples,
as in `kling_async._models`. Pydantic's default (lax) mode is what its users get.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, frozen=True)


class Limitation(Model):
    type: str | None = None
    remaining: int | None = None
    limit: int | None = None


class Resource(Model):
    resource: str | None = None
    height: int | None = None
    width: int | None = None
    duration: int | None = None
    resource_key: str | None = None


class TaskInput(Model):
    name: str | None = None
    input_type: str | None = None
    token: str | None = None
    blob_storage: str | None = None
    url: str | None = None
    cover: str | None = None
    from_work_id: int | None = None
    from_upload_id: int | None = None


class TaskArgument(Model):
    name: str | None = None
    value: str | None = None


class TaskInfo(Model):
    type: str | None = None
    inputs: tuple[TaskInput, ...] = ()
    arguments: tuple[TaskArgument, ...] = ()
    extra_args: dict[str, Any] = {}
    callback_payloads: tuple[Any, ...] = ()
    scene: str | None = None


class SelfComment(Model):
    rate: int | None = None
    tags: tuple[Any, ...] = ()
    content: str | None = None
    prompts: tuple[Any, ...] = ()


class DownloadFileType(Model):
    type: str | None = None
    watermark: bool | None = None


class DownloadInfo(Model):
    file_types: tuple[DownloadFileType, ...] = ()


class Work(Model):
    work_id: int | None = None
    work_item_id: int | None = None
    task_id: int | None = None
    user_id: int | None = None
    type: str | None = None
    status: int | None = None
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


class Task(Model):
    id: int | None = None
    user_id: int | None = None
    type: str | None = None
    scene: str | None = None
    status: int | None = None
    task_info: TaskInfo | None = None
    favored: bool | None = None
    deleted: bool | None = None
    viewed: bool | None = None
    create_time: int | None = None
    update_time: int | None = None
    view_time: int | None = None


class HistoryEntry(Model):
    works: tuple[Work, ...] = ()
    task: Task | None = None
    eta_time: int | None = None
    eta_time_over_sla: bool | None = None
    queuing_eta_time: int | None = None
    origin_eta_time: int | None = None
    origin_queuing_eta_time: int | None = None
    current_timestamp: int | None = None


class PointsGrant(Model):
    order_id: str | None = None
    type: str | None = None
    amount: int | None = None
    balance: int | None = None
    start_time: int | None = None
    end_time: int | None = None


class UserPoints(Model):
    points: tuple[PointsGrant, ...] = ()
    total: int | None = None


class Ticket(Model):
    order_id: str | None = None
    type: str | None = None
    package_type: str | None = None
    amount: int | None = None
    balance: int | None = None
    start_time: int | None = None
    end_time: int | None = None


class UserTickets(Model):
    ticket: tuple[Ticket, ...] = ()


class AssetsPage(Model):
    limitations: tuple[Limitation, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    user_points: UserPoints | None = None
    user_tickets: UserTickets | None = None
