"""kling_async: an async Python SDK for useapi.net's Kling API.

Example::

    from kling_async import KlingClient

    async with KlingClient() as client:  # token from USEAPI_TOKEN
        async for work in client.assets.iter_works(content_type="video"):
            print(work.work_id, work.prompt)
"""

from ._client import DEFAULT_BASE_URL, DEFAULT_LIMITS, DEFAULT_TIMEOUT, KlingClient
from ._exceptions import (
    AccountError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchError,
    CDNError,
    ClientClosedError,
    ExportLockedError,
    InvalidInputError,
    KlingError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from ._http import HTTPBackend
from ._models import (
    AssetsPage,
    DeleteResult,
    DownloadFileType,
    DownloadInfo,
    DownloadResult,
    Element,
    ElementResource,
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
    UploadedAsset,
    UploadsPage,
    UserPoints,
    UserTickets,
    Voice,
    Work,
)
from ._pagination import PageSource
from ._resources import (
    AssetsListOptions,
    AssetsResource,
    ElementsResource,
    UploadsListOptions,
    UploadsResource,
)
from ._retry import RetryPolicy
from ._serialize import Form, from_dict, from_json, to_dict, to_json
from ._types import NOT_GIVEN, ContentType, FileType, NotGiven, SortOrder
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AccountError",
    "AssetsListOptions",
    "AssetsPage",
    "AssetsResource",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "CDNError",
    "ClientClosedError",
    "ExportLockedError",
    "ContentType",
    "DeleteResult",
    "DownloadFileType",
    "DownloadInfo",
    "DownloadResult",
    "Element",
    "ElementResource",
    "ElementsResource",
    "FileType",
    "Form",
    "HTTPBackend",
    "HistoryEntry",
    "InvalidInputError",
    "KlingClient",
    "KlingError",
    "Limitation",
    "NotFoundError",
    "NotGiven",
    "PageSource",
    "PaymentRequiredError",
    "PointsGrant",
    "RateLimitError",
    "Resource",
    "ResponseValidationError",
    "RetryPolicy",
    "SelfComment",
    "ServerError",
    "SortOrder",
    "Task",
    "TaskArgument",
    "TaskInfo",
    "TaskInput",
    "Ticket",
    "UploadedAsset",
    "UploadsListOptions",
    "UploadsPage",
    "UploadsResource",
    "UserPoints",
    "UserTickets",
    "Voice",
    "Work",
    "__version__",
    "from_dict",
    "from_json",
    "to_dict",
    "to_json",
]
