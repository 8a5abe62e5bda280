"""The options of each paged listing, defined once.

Every method that lists the same endpoint (``list``, ``iter_pages``, the item iterator,
``page_source``, and the `kling_async.batch` helper) takes these as keywords, typed with
`typing.Unpack`, so one listing's options are spelled, documented and checked in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict

from .._types import ContentType, NotGiven, SortOrder, TimeoutTypes

__all__ = [
    "ASSETS_PAGE_SIZE",
    "ELEMENTS_MAX_PAGE_SIZE",
    "ELEMENTS_PAGE_SIZE",
    "TASKS_MAX_PAGE_SIZE",
    "TASKS_PAGE_SIZE",
    "UPLOADS_PAGE_SIZE",
    "AssetsListOptions",
    "ElementsListOptions",
    "TasksListOptions",
    "UploadsListOptions",
    "check_options",
]

ASSETS_PAGE_SIZE = 40
"""The default ``page_size`` of GET /assets listings: history entries per page."""

UPLOADS_PAGE_SIZE = 20
"""The default ``page_size`` of GET /assets/uploaded listings: files per page."""

ELEMENTS_PAGE_SIZE = 50
"""The default ``page_size`` of GET /elements listings (the service's own): elements per page."""

ELEMENTS_MAX_PAGE_SIZE = 100
"""The largest ``page_size`` GET /elements takes."""

TASKS_PAGE_SIZE = 20
"""The default ``page_size`` of GET /tasks listings: tasks per page (always sent)."""

TASKS_MAX_PAGE_SIZE = 100
"""The largest ``page_size`` of GET /tasks listings: the SDK's limit, the service documents none.

A server that quietly answered a larger size with fewer tasks would end a listing early (a
short page is the last), so the SDK asks for no more than this.
"""


class AssetsListOptions(TypedDict, total=False):
    """The options of a GET /assets listing (generated works), all optional keywords.

    Taken by `AssetsResource.list`, `AssetsResource.iter_pages`, `AssetsResource.iter_works`,
    `AssetsResource.page_source` and `kling_async.batch.iter_pages`.

    Keys:
        content_type: only works of this type (`ContentType` or ``"video"``, ``"image"``,
            ``"audio"``, any case); default: every type.
        page_size: history entries per page (one per generation task), default 40.
        sort: ``"asc"`` or ``"desc"`` by creation time; default: the service's, newest first.
        timeout: the timeout of each request, instead of the client's.
    """

    content_type: ContentType | str | None
    page_size: int
    sort: SortOrder | None
    timeout: TimeoutTypes | NotGiven


class UploadsListOptions(TypedDict, total=False):
    """The options of a GET /assets/uploaded listing (uploaded files), all optional keywords.

    Taken by `UploadsResource.list`, `UploadsResource.iter_pages`,
    `UploadsResource.iter_assets`, `UploadsResource.page_source` and
    `kling_async.batch.iter_upload_pages`.

    Keys:
        content_type: only files of this type, as for `AssetsListOptions`.
        file_name: only files whose name contains this keyword.
        page_size: files per page, default 20.
        sort: ``"asc"`` or ``"desc"`` by upload time; default: newest first.
        timeout: the timeout of each request, instead of the client's.
    """

    content_type: ContentType | str | None
    file_name: str | None
    page_size: int
    sort: SortOrder | None
    timeout: TimeoutTypes | NotGiven


class ElementsListOptions(TypedDict, total=False):
    """The options of a GET /elements listing (elements), all optional keywords.

    Taken by `ElementsResource.list`, `ElementsResource.iter_pages`,
    `ElementsResource.iter_elements`, `ElementsResource.page_source` and
    `kling_async.batch.iter_element_pages`. A filter left out (or None) is not sent.

    Keys:
        favored: True for only the elements marked favourite.
        official: True for only Kling's own (official) elements, instead of the account's.
        page_size: elements per page, 1 to 100, default 50.
        sort: ``"asc"`` or ``"desc"`` (sent as ``sortDirection=ASC``/``DESC``); default: the
            service's, ``"desc"``. The service does not say what it sorts by (creation time,
            presumably).
        tag: only elements with this tag (a tag's ID or key, as GET /elements/tags names it).
        timeout: the timeout of each request, instead of the client's.
    """

    favored: bool | None
    official: bool | None
    page_size: int
    sort: SortOrder | None
    tag: str | int | None
    timeout: TimeoutTypes | NotGiven


class TasksListOptions(TypedDict, total=False):
    """The options of a GET /tasks listing (generation tasks, newest first), all optional keywords.

    Taken by `TasksResource.list`, `TasksResource.iter_pages`, `TasksResource.iter_tasks`,
    `TasksResource.page_source` and `kling_async.batch.iter_task_pages`. ``created_after``
    and ``created_before`` are exclusive bounds and cannot be combined; either is a
    `datetime` (a naive one is UTC) or an int of milliseconds since the epoch.

    Keys:
        content_type: only tasks of this type (`ContentType` or ``"video"``, ``"image"``,
            ``"audio"``, any case); default: every type.
        created_after: only tasks created after this moment.
        created_before: only tasks created before this moment (where a listing starts).
        page_size: tasks per page, 1 to 100, default 20.
        timeout: the timeout of each request, instead of the client's.
    """

    content_type: ContentType | str | None
    created_after: datetime | int | None
    created_before: datetime | int | None
    page_size: int
    timeout: TimeoutTypes | NotGiven


def check_options(options: Mapping[str, Any], kind: type[Any], caller: str) -> None:
    """Raise `TypeError` for a key of ``options`` that the TypedDict ``kind`` does not define.

    The same error Python raises for an unknown keyword argument, naming ``caller``.
    """
    unknown = [key for key in options if key not in kind.__annotations__]
    if unknown:
        known = ", ".join(kind.__annotations__)
        raise TypeError(
            f"{caller}() got an unexpected keyword argument {unknown[0]!r} (options: {known})"
        )
