"""``client.assets``: generated works (GET /assets) and their watermark-free downloads."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING

from .._models import AssetsPage, DownloadResult, Work
from .._pagination import PageSource, iter_pages
from .._params import (
    normalize_content_type,
    normalize_file_types,
    normalize_ids,
    normalize_sort,
    positive_int,
)
from .._types import NOT_GIVEN, CallContext, FileType, NotGiven, TimeoutTypes
from ._base import Resource, flatten, query
from ._listing import listing
from ._options import ASSETS_PAGE_SIZE, AssetsListOptions, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AssetsResource"]


class AssetsResource(Resource):
    """Generated works: listing (GET /assets) and watermark-free download URLs.

    The listing methods take the options of `AssetsListOptions` as keywords (``content_type``,
    ``page_size``, ``sort``, ``timeout``), and ``email=`` for an account other than the
    client's default.
    """

    __slots__ = ()

    async def list(
        self,
        *,
        page_num: int = 1,
        email: str | None = None,
        **options: Unpack[AssetsListOptions],
    ) -> AssetsPage:
        """Get one page of generated works (GET /assets), page 1 unless ``page_num`` says.

        ``page_size`` counts history entries (one per generation task, each holding one or more
        works). A page that is empty or shorter than ``page_size`` is the last one.
        """
        page_num = positive_int(page_num, "page_num")
        return await self._source("assets.list", email, options).fetch(page_num)

    def iter_pages(
        self, *, email: str | None = None, **options: Unpack[AssetsListOptions]
    ) -> AsyncGenerator[AssetsPage, None]:
        """Iterate over every non-empty page of generated works, in order, one request at a time."""
        return iter_pages(self._source("assets.iter_pages", email, options))

    def iter_works(
        self, *, email: str | None = None, **options: Unpack[AssetsListOptions]
    ) -> AsyncGenerator[Work, None]:
        """Iterate over every generated work of the account, page after page, in order.

        Example::

            async for work in client.assets.iter_works(content_type="video"):
                print(work.work_id, work.created_at)
        """
        pages = iter_pages(self._source("assets.iter_works", email, options))
        return flatten(pages, _works_of)

    def page_source(
        self, *, email: str | None = None, **options: Unpack[AssetsListOptions]
    ) -> PageSource[AssetsPage]:
        """The GET /assets listing as a `PageSource`, for pagers such as `kling_async.batch`.

        Arguments are checked here, so bad input fails before any page is asked for.
        """
        return self._source("assets.page_source", email, options)

    async def download(
        self,
        work_ids: Iterable[int | str] | int | str,
        *,
        file_types: Iterable[FileType | str] | FileType | str | None = None,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> DownloadResult:
        """Get a watermark-free download URL for works (GET /assets/download).

        One work and one file type give a URL to the file itself; several works, several file
        types or none (every type) give a URL to a .zip. The batch helper
        `kling_async.batch.download` splits long ID lists into concurrent chunks.
        """
        types = normalize_file_types(file_types)
        params = query(
            email=self._requester.account(email),
            workIds=",".join(normalize_ids(work_ids, name="work_ids")),
            fileTypes=",".join(types) if types is not None else None,
        )
        return await self._requester.request(
            "GET",
            "/assets/download",
            DownloadResult,
            params=params,
            timeout=timeout,
            context=CallContext(email=params.get("email")),
        )

    def _source(
        self, caller: str, email: str | None, options: AssetsListOptions
    ) -> PageSource[AssetsPage]:
        check_options(options, AssetsListOptions, caller)
        page_size = positive_int(options.get("page_size", ASSETS_PAGE_SIZE), "page_size")
        params = query(
            email=self._requester.account(email),
            pageSize=page_size,
            contentType=normalize_content_type(options.get("content_type")),
            sort=normalize_sort(options.get("sort")),
        )
        timeout = options.get("timeout", NOT_GIVEN)
        return listing(
            self._requester, "/assets", AssetsPage, _history_count, params, page_size, timeout
        )


def _history_count(page: AssetsPage) -> int:
    return len(page.history)


def _works_of(page: AssetsPage) -> tuple[Work, ...]:
    return page.works
