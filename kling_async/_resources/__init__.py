"""The endpoint namespaces of `KlingClient`, one module each, over one small request protocol.

A namespace checks its arguments, builds the query and hands over to the client's request
core through `Requester`; nothing here sends, retries or decodes by itself.
"""

from ._accounts import AccountsResource
from ._assets import AssetsResource
from ._base import Requester
from ._elements import ElementsResource
from ._options import (
    AssetsListOptions,
    ElementsListOptions,
    TasksListOptions,
    UploadsListOptions,
)
from ._scheduler import SchedulerResource
from ._tasks import TasksResource
from ._uploads import UploadFile, UploadSource, UploadsResource

__all__ = [
    "AccountsResource",
    "AssetsListOptions",
    "AssetsResource",
    "ElementsListOptions",
    "ElementsResource",
    "Requester",
    "SchedulerResource",
    "TasksListOptions",
    "TasksResource",
    "UploadFile",
    "UploadSource",
    "UploadsListOptions",
    "UploadsResource",
]
