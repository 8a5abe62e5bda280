"""The endpoint namespaces of `KlingClient`: ``assets``, ``uploads`` and ``elements``.

Each method checks its arguments, builds the query, and hands over to the client's one request
core; nothing here sends, retries or decodes by itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, Literal, TypeVar

from ._exceptions import InvalidInputError
from ._models import (
    AssetsPage,
    DeleteResult,
    DownloadResult,
    Element,
    UploadedAsset,
    UploadsPage,
    Work,
)
from ._pagination import PageSource, iter_pages
from ._params import (
    MAX_DELETE_IDS,
    normalize_content_type,
    normalize_file_name,
    normalize_file_types,
    normalize_ids,
    normalize_sort,
    path_segment,
    positive_int,
)
from ._types import NOT_GIVEN, CallContext, ContentType, FileType, NotGiven, TimeoutTypes

if TYPE_CHECKING:
    from ._client import KlingClient

__all__ = ["AssetsResource", "ElementsResource", "SortOrder", "UploadsResource"]

P = TypeVar("P")
ItemT = TypeVar("ItemT")

SortOrder = Literal["asc", "desc"]
"""Listing order by creation time; the service's default is ``"desc"`` (newest first)."""


def _query(**values: str | int | None) -> dict[str, str]:
    """The query parameters that were given, as strings, in wire names."""
    return {key: str(value) for key, value in values.items() if value is not None}


class _Resource:
    __slots__ = ("_client",)

    def __init__(self, client: KlingClient) -> None:
        self._client = client


class AssetsResource(_Resource):
    """Generated works: listing (GET /assets) and watermark-free download URLs."""

    __slots__ = ()

    async def list(
        self,
        page_num: int = 1,
        page_size: int = 40,
        content_type: ContentType | str | None = None,
        email: str | None = None,
        *,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AssetsPage:
        """Get one page of generated works (GET /assets).

        ``page_size`` counts history entries (one per generation task, each holding one or more
        works). A page that is empty or shorter than ``page_size`` is the last one.
        """
        return await self.page_source(
            page_size=page_size, content_type=content_type, email=email, sort=sort, timeout=timeout
        ).fetch(positive_int(page_num, "page_num"))

    def page_source(
        self,
        *,
        page_size: int = 40,
        content_type: ContentType | str | None = None,
        email: str | None = None,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> PageSource[AssetsPage]:
        """The GET /assets listing as a `PageSource`, for pagers such as `kling_async.batch`.

        Arguments are checked here, so bad input fails before any page is asked for.
        """
        params = _query(
            email=self._client._resolve_email(email),
            pageSize=positive_int(page_size, "page_size"),
            contentType=normalize_content_type(content_type),
            sort=normalize_sort(sort),
        )
        return _listing(self._client, "/assets", AssetsPage, _history_count, params, timeout)

    def iter_pages(
        self,
        content_type: ContentType | str | None = None,
        page_size: int = 40,
        email: str | None = None,
        *,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[AssetsPage]:
        """Iterate over every non-empty page of generated works, in order, one request at a time."""
        source = self.page_source(
            page_size=page_size, content_type=content_type, email=email, sort=sort, timeout=timeout
        )
        return iter_pages(source)

    def iter_works(
        self,
        content_type: ContentType | str | None = None,
        page_size: int = 40,
        email: str | None = None,
        *,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[Work]:
        """Iterate over every generated work of the account, page after page, in order.

        Example::

            async for work in client.assets.iter_works(content_type="video"):
                print(work.work_id, work.created_at)
        """
        source = self.page_source(
            page_size=page_size, content_type=content_type, email=email, sort=sort, timeout=timeout
        )
        return _flatten(iter_pages(source), _works_of)

    async def download(
        self,
        work_ids: Iterable[int | str] | int | str,
        file_types: Iterable[FileType | str] | FileType | str | None = None,
        email: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> DownloadResult:
        """Get a watermark-free download URL for works (GET /assets/download).

        One work and one file type give a URL to the file itself; several works, several file
        types or none (every type) give a URL to a .zip. The batch helper
        `kling_async.batch.download` splits long ID lists into concurrent chunks.
        """
        params = _query(
            email=self._client._resolve_email(email),
            workIds=",".join(normalize_ids(work_ids, name="work_ids")),
            fileTypes=_join(normalize_file_types(file_types)),
        )
        return await self._client._request(
            "GET",
            "/assets/download",
            DownloadResult,
            params=params,
            timeout=timeout,
            context=CallContext(email=params.get("email")),
        )


class UploadsResource(_Resource):
    """Uploaded files: listing (GET /assets/uploaded) and deleting (DELETE /assets/uploaded)."""

    __slots__ = ()

    async def list(
        self,
        page_num: int = 1,
        page_size: int = 20,
        content_type: ContentType | str | None = None,
        file_name: str | None = None,
        email: str | None = None,
        *,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> UploadsPage:
        """Get one page of uploaded files (GET /assets/uploaded); ``file_name`` filters names."""
        source = self.page_source(
            page_size=page_size,
            content_type=content_type,
            file_name=file_name,
            email=email,
            sort=sort,
            timeout=timeout,
        )
        return await source.fetch(positive_int(page_num, "page_num"))

    def page_source(
        self,
        *,
        page_size: int = 20,
        content_type: ContentType | str | None = None,
        file_name: str | None = None,
        email: str | None = None,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> PageSource[UploadsPage]:
        """The GET /assets/uploaded listing as a `PageSource`, for `kling_async.batch`."""
        params = _query(
            email=self._client._resolve_email(email),
            pageSize=positive_int(page_size, "page_size"),
            contentType=normalize_content_type(content_type),
            fileName=normalize_file_name(file_name),
            sort=normalize_sort(sort),
        )
        return _listing(
            self._client, "/assets/uploaded", UploadsPage, _upload_count, params, timeout
        )

    def iter_pages(
        self,
        content_type: ContentType | str | None = None,
        file_name: str | None = None,
        page_size: int = 20,
        email: str | None = None,
        *,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[UploadsPage]:
        """Iterate over every non-empty page of uploaded files, in order."""
        return iter_pages(
            self.page_source(
                page_size=page_size,
                content_type=content_type,
                file_name=file_name,
                email=email,
                sort=sort,
                timeout=timeout,
            )
        )

    def iter_assets(
        self,
        content_type: ContentType | str | None = None,
        file_name: str | None = None,
        page_size: int = 20,
        email: str | None = None,
        *,
        sort: SortOrder | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> AsyncIterator[UploadedAsset]:
        """Iterate over every uploaded file of the account, page after page, in order."""
        source = self.page_source(
            page_size=page_size,
            content_type=content_type,
            file_name=file_name,
            email=email,
            sort=sort,
            timeout=timeout,
        )
        return _flatten(iter_pages(source), _assets_of)

    async def delete(
        self,
        ids: Iterable[int | str] | int | str,
        email: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> DeleteResult:
        """Delete up to 10 uploaded files (DELETE /assets/uploaded); there is no undo.

        The service needs the account's email for this call: pass ``email=`` or set the client's.
        `kling_async.batch.delete_uploaded` deletes any number, 10 per call, concurrently.
        """
        normalized = normalize_ids(ids, name="ids", max_count=MAX_DELETE_IDS)
        account = self._client._resolve_email(email)
        if account is None:
            raise InvalidInputError(
                "uploads.delete needs the account's email: pass email= or KlingClient(email=...)"
            )
        params = {"email": account, "id": ",".join(normalized)}
        return await self._client._request(
            "DELETE",
            "/assets/uploaded",
            DeleteResult,
            params=params,
            timeout=timeout,
            context=CallContext(email=account),
        )


class ElementsResource(_Resource):
    """Elements (reusable characters, objects and scenes): GET /elements/{elementId}."""

    __slots__ = ()

    async def get(
        self,
        element_id: str,
        email: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Element:
        """Get one element by its ID (e.g. ``"u_123456789012345"``); `NotFoundError` if unknown."""
        path = "/elements/" + path_segment(element_id, "element_id")
        params = _query(email=self._client._resolve_email(email))
        context = CallContext(email=params.get("email"))
        return await self._client._request(
            "GET", path, Element, params=params, timeout=timeout, context=context
        )


def _listing(
    client: KlingClient,
    path: str,
    cast_to: type[P],
    count: Callable[[P], int],
    params: dict[str, str],
    timeout: TimeoutTypes | NotGiven,
) -> PageSource[P]:
    """A paged GET listing as a `PageSource`; ``params`` are checked and hold ``pageSize``."""

    async def fetch(page_num: int) -> P:
        query = {**params, "pageNum": str(page_num)}
        context = CallContext(email=params.get("email"), page_num=page_num)
        return await client._request(
            "GET", path, cast_to, params=query, timeout=timeout, context=context
        )

    return PageSource(fetch=fetch, count=count, page_size=int(params["pageSize"]))


def _join(values: tuple[str, ...] | None) -> str | None:
    return ",".join(values) if values is not None else None


def _history_count(page: AssetsPage) -> int:
    return len(page.history)


def _upload_count(page: UploadsPage) -> int:
    return len(page.upload_assets_list)


def _works_of(page: AssetsPage) -> tuple[Work, ...]:
    return page.works


def _assets_of(page: UploadsPage) -> tuple[UploadedAsset, ...]:
    return page.upload_assets_list


async def _flatten(
    pages: AsyncGenerator[P, None], items: Callable[[P], tuple[ItemT, ...]]
) -> AsyncIterator[ItemT]:
    async with aclosing(pages):
        async for page in pages:
            for item in items(page):
                yield item
