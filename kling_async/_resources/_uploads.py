"""``client.uploads``: uploaded files, listed (GET /assets/uploaded) and deleted."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING

from .._exceptions import InvalidInputError
from .._models import DeleteResult, UploadedAsset, UploadsPage
from .._pagination import PageSource, iter_pages
from .._params import (
    MAX_DELETE_IDS,
    normalize_content_type,
    normalize_file_name,
    normalize_ids,
    normalize_sort,
    positive_int,
)
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import Resource, flatten, query
from ._listing import listing
from ._options import UPLOADS_PAGE_SIZE, UploadsListOptions, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["UploadsResource"]


class UploadsResource(Resource):
    """Uploaded files: listing (GET /assets/uploaded) and deleting (DELETE /assets/uploaded).

    The listing methods take the options of `UploadsListOptions` as keywords
    (``content_type``, ``file_name``, ``page_size``, ``sort``, ``timeout``), and ``email=``
    for an account other than the client's default.
    """

    __slots__ = ()

    async def list(
        self,
        *,
        page_num: int = 1,
        email: str | None = None,
        **options: Unpack[UploadsListOptions],
    ) -> UploadsPage:
        """Get one page of uploaded files (GET /assets/uploaded): page 1 unless ``page_num``."""
        page_num = positive_int(page_num, "page_num")
        return await self._source("uploads.list", email, options).fetch(page_num)

    def iter_pages(
        self, *, email: str | None = None, **options: Unpack[UploadsListOptions]
    ) -> AsyncGenerator[UploadsPage, None]:
        """Iterate over every non-empty page of uploaded files, in order."""
        return iter_pages(self._source("uploads.iter_pages", email, options))

    def iter_assets(
        self, *, email: str | None = None, **options: Unpack[UploadsListOptions]
    ) -> AsyncGenerator[UploadedAsset, None]:
        """Iterate over every uploaded file of the account, page after page, in order."""
        pages = iter_pages(self._source("uploads.iter_assets", email, options))
        return flatten(pages, _assets_of)

    def page_source(
        self, *, email: str | None = None, **options: Unpack[UploadsListOptions]
    ) -> PageSource[UploadsPage]:
        """The GET /assets/uploaded listing as a `PageSource`, for `kling_async.batch`."""
        return self._source("uploads.page_source", email, options)

    async def delete(
        self,
        ids: Iterable[int | str] | int | str,
        *,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> DeleteResult:
        """Delete up to 10 uploaded files (DELETE /assets/uploaded); there is no undo.

        The service needs the account's email for this call: pass ``email=`` or set the client's.
        `kling_async.batch.delete_uploaded` deletes any number, 10 per call, concurrently.
        """
        normalized = normalize_ids(ids, name="ids", max_count=MAX_DELETE_IDS)
        account = self._requester.account(email)
        if account is None:
            raise InvalidInputError(
                "uploads.delete needs the account's email: pass email= or KlingClient(email=...)"
            )
        params = {"email": account, "id": ",".join(normalized)}
        return await self._requester.request(
            "DELETE",
            "/assets/uploaded",
            DeleteResult,
            params=params,
            timeout=timeout,
            context=CallContext(email=account),
        )

    def _source(
        self, caller: str, email: str | None, options: UploadsListOptions
    ) -> PageSource[UploadsPage]:
        check_options(options, UploadsListOptions, caller)
        page_size = positive_int(options.get("page_size", UPLOADS_PAGE_SIZE), "page_size")
        params = query(
            email=self._requester.account(email),
            pageSize=page_size,
            contentType=normalize_content_type(options.get("content_type")),
            fileName=normalize_file_name(options.get("file_name")),
            sort=normalize_sort(options.get("sort")),
        )
        timeout = options.get("timeout", NOT_GIVEN)
        return listing(
            self._requester,
            "/assets/uploaded",
            UploadsPage,
            _upload_count,
            params,
            page_size,
            timeout,
        )


def _upload_count(page: UploadsPage) -> int:
    return len(page.upload_assets_list)


def _assets_of(page: UploadsPage) -> tuple[UploadedAsset, ...]:
    return page.upload_assets_list
