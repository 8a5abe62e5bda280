"""The typed responses of the Kling endpoints.

Each class is plain data: a frozen, slotted attrs class whose attributes are the snake_case
spelling of the server's camelCase fields (``workId`` is `Work.work_id`). Timestamps stay the
server's integer milliseconds since the Unix epoch; the ``*_at`` properties give them as
timezone-aware UTC datetimes.

The server documents every field as optional. The models take it at its word except for what
names an object: `Work.work_id` and `Work.task_id`, `Task.id`, `UploadedAsset.id`,
`Element.id`, `ElementTag.id`, `Voice.id`, `RunningTask.id`, `AccountCapacity.email`,
`DownloadResult.cdn_url` and `Account.email` are required, with no default, and a response
without one (or with ``null``) is a `ResponseValidationError` naming the field's wire path,
e.g. ``$.history[0].works[2].workId``. Every other attribute has a default: ``None`` for a
scalar or a nested object, an empty tuple for a list, an empty dict for a free-form object.

How JSON becomes these classes (and back) is the converter's business, in `_converter`.

Models compare by value and hash; attributes holding free-form JSON (dicts, lists of
anything) take part in equality but not in the hash, so every model stays hashable. They are
ordinary attrs classes in every other way too (weak references included): the converter
needs nothing of them beyond their attributes.
"""

from ._accounts import Account, AccountBalance, AccountSession
from ._assets import (
    AssetsPage,
    DownloadFileType,
    DownloadInfo,
    DownloadResult,
    HistoryEntry,
    Limitation,
    PointsGrant,
    Resource,
    SelfComment,
    Task,
    TaskArgument,
    TaskInfo,
    TaskInput,
    Ticket,
    UserPoints,
    UserTickets,
    Work,
)
from ._elements import Element, ElementResource, ElementsPage, ElementTag, Voice
from ._scheduler import AccountCapacity, Capacity, RunningTask
from ._tasks import TaskDeleteResult, TaskDetail, TasksPage
from ._uploads import DeleteResult, UploadedAsset, UploadResult, UploadsPage

__all__ = [
    "Account",
    "AccountBalance",
    "AccountCapacity",
    "AccountSession",
    "AssetsPage",
    "Capacity",
    "DeleteResult",
    "DownloadFileType",
    "DownloadInfo",
    "DownloadResult",
    "Element",
    "ElementResource",
    "ElementTag",
    "ElementsPage",
    "HistoryEntry",
    "Limitation",
    "PointsGrant",
    "Resource",
    "RunningTask",
    "SelfComment",
    "Task",
    "TaskArgument",
    "TaskDeleteResult",
    "TaskDetail",
    "TaskInfo",
    "TaskInput",
    "TasksPage",
    "Ticket",
    "UploadResult",
    "UploadedAsset",
    "UploadsPage",
    "UserPoints",
    "UserTickets",
    "Voice",
    "Work",
]
