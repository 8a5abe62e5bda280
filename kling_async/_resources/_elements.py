"""``client.elements``: elements (reusable characters, objects and scenes), listed and fetched."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import attrs

from .._converter import Decoder, decode_json, structure
from .._models import Element, ElementsPage
from .._pagination import PageSource, iter_pages
from .._params import normalize_flag, normalize_sort, normalize_tag, path_segment, positive_int
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import Resource, flatten, query
from ._listing import listing
from ._options import (
    ELEMENTS_MAX_PAGE_SIZE,
    ELEMENTS_PAGE_SIZE,
    ElementsListOptions,
    check_options,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ElementsResource"]


class ElementsResource(Resource):
    """Elements (reusable characters, objects and scenes): GET /elements and GET /elements/{id}.

    The listing methods take the options of `ElementsListOptions` as keywords (``favored``,
    ``official``, ``page_size``, ``sort``, ``tag``, ``timeout``), and ``email=`` for an
    account other than the client's default. The listing reports its ``total``, so pagers
    ask for exactly the pages that exist.

    Example::

        async for element in client.elements.iter_elements(favored=True):
            print(element.id, element.name)
    """

    __slots__ = ()

    async def list(
        self,
        *,
        page_num: int = 1,
        email: str | None = None,
        **options: Unpack[ElementsListOptions],
    ) -> ElementsPage:
        """Get one page of elements (GET /elements): page 1 unless ``page_num`` says.

        The page's `ElementsPage.total` says how many elements match over all pages.
        """
        page_num = positive_int(page_num, "page_num")
        return await self._source("elements.list", email, options).fetch(page_num)

    def iter_pages(
        self, *, email: str | None = None, **options: Unpack[ElementsListOptions]
    ) -> AsyncGenerator[ElementsPage, None]:
        """Iterate over every non-empty page of elements, in order; ``total`` says which is last."""
        return iter_pages(self._source("elements.iter_pages", email, options))

    def iter_elements(
        self, *, email: str | None = None, **options: Unpack[ElementsListOptions]
    ) -> AsyncGenerator[Element, None]:
        """Iterate over every element of the listing, page after page, in order."""
        pages = iter_pages(self._source("elements.iter_elements", email, options))
        return flatten(pages, _elements_of)

    def page_source(
        self, *, email: str | None = None, **options: Unpack[ElementsListOptions]
    ) -> PageSource[ElementsPage]:
        """The GET /elements listing as a `PageSource` (with its total), for `kling_async.batch`.

        Arguments are checked here, so bad input fails before any page is asked for.
        """
        return self._source("elements.page_source", email, options)

    async def get(
        self,
        element_id: str,
        *,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Element:
        """Get one element by its ID (e.g. ``"u_123456789012345"``); `NotFoundError` if unknown.

        The service has answered in two shapes: first the element under an ``"element"`` key,
        now the element itself. Both give the same `Element`: a body whose ``element`` is an
        object and that has no ``id`` of its own is the first shape; any other body is the
        element.
        """
        path = "/elements/" + path_segment(element_id, "element_id")
        params = query(email=self._requester.account(email))
        context = CallContext(email=params.get("email"))
        return await self._requester.request(
            "GET", path, _EITHER_SHAPE, params=params, timeout=timeout, context=context
        )

    def _source(
        self, caller: str, email: str | None, options: ElementsListOptions
    ) -> PageSource[ElementsPage]:
        check_options(options, ElementsListOptions, caller)
        page_size = positive_int(
            options.get("page_size", ELEMENTS_PAGE_SIZE), "page_size", most=ELEMENTS_MAX_PAGE_SIZE
        )
        sort = normalize_sort(options.get("sort"))
        params = query(
            email=self._requester.account(email),
            pageSize=page_size,
            tag=normalize_tag(options.get("tag")),
            official=normalize_flag(options.get("official"), "official"),
            favored=normalize_flag(options.get("favored"), "favored"),
            sortDirection=sort.upper() if sort is not None else None,
        )
        timeout = options.get("timeout", NOT_GIVEN)
        return listing(
            self._requester,
            "/elements",
            ElementsPage,
            _element_count,
            params,
            page_size,
            timeout,
            total=_total,
        )


@attrs.frozen
class _Wrapped:
    """GET /elements/{elementId} as first documented: the element under an ``element`` key."""

    element: Element


def _element_of(body: dict[str, Any]) -> Element:
    """The element of a GET /elements/{elementId} body, in either shape (see `get`).

    A body that does not fit raises `ResponseValidationError` naming the wire path, e.g.
    ``$.element.id`` for the first shape, ``$.id`` for the current one.
    """
    if isinstance(body.get("element"), dict) and "id" not in body:
        return structure(body, _Wrapped).element
    return structure(body, Element)


def _decode_element(content: bytes) -> Element:
    return _element_of(decode_json(content, dict[str, Any]))


_EITHER_SHAPE = Decoder(_decode_element)


def _element_count(page: ElementsPage) -> int:
    return len(page.elements_list)


def _total(page: ElementsPage) -> int | None:
    return page.total


def _elements_of(page: ElementsPage) -> tuple[Element, ...]:
    return page.elements_list
