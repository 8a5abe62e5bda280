"""The fake GET /elements: an account's elements, filtered, sorted and paged, with the total.

Where the service's documentation is silent, the fake chooses: ``pageSize`` outside 1..100 and
a ``tag``, ``official``, ``favored`` or ``sortDirection`` it cannot read are a 400 "Invalid
parameters" saying which; ``tag`` matches an element's tag ID or name (any case);
``official=true`` lists Kling's own elements, of which the seeded accounts have none; a page
past the end is empty, with the same ``total``. The order is by creation time, newest first
unless ``sortDirection=ASC``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ._data import AccountData, ElementRecord
from ._params import positive_int_param, query_param, requested_account
from ._responses import invalid_parameters, json_response
from ._state import ServerState

__all__ = ["ELEMENTS_MAX_PAGE_SIZE", "ELEMENTS_PAGE_SIZE", "list_elements"]

ELEMENTS_PAGE_SIZE = 50
"""The page size of GET /elements when ``pageSize`` is not given."""

ELEMENTS_MAX_PAGE_SIZE = 100
"""The largest ``pageSize`` GET /elements takes."""


async def list_elements(request: Request, state: ServerState) -> Response:
    """GET /elements: one page of the account's elements that pass the filters, and the total."""
    account = requested_account(request, state)
    page_num = positive_int_param(request, "pageNum", 1)
    page_size = positive_int_param(request, "pageSize", ELEMENTS_PAGE_SIZE)
    if page_size > ELEMENTS_MAX_PAGE_SIZE:
        raise invalid_parameters(f"pageSize must be from 1 to {ELEMENTS_MAX_PAGE_SIZE}")
    elements = _matching(account, request)
    if _ascending(request):
        elements = elements[::-1]
    start = (page_num - 1) * page_size
    return json_response(
        {
            "elementsList": [
                account.render_element(element) for element in elements[start : start + page_size]
            ],
            "pageNum": page_num,
            "pageSize": page_size,
            "total": len(elements),
        }
    )


def _matching(account: AccountData, request: Request) -> tuple[ElementRecord, ...]:
    """The account's elements (newest first) that pass ``tag``, ``official`` and ``favored``."""
    tag = query_param(request, "tag")
    official = _flag(request, "official")
    favored = _flag(request, "favored")
    if official:
        return ()  # every seeded element is the account's own
    elements = account.elements
    if favored:
        elements = tuple(element for element in elements if element.favored)
    if tag is not None:
        wanted = tag.strip().casefold()
        elements = tuple(
            element
            for element in elements
            if any(wanted in (str(tag_id), name.casefold()) for tag_id, name in element.tags)
        )
    return elements


def _flag(request: Request, name: str) -> bool:
    value = query_param(request, name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise invalid_parameters(f"{name} must be true or false")
    return value.lower() == "true"


def _ascending(request: Request) -> bool:
    value = query_param(request, "sortDirection")
    if value is None:
        return False
    if value.upper() not in ("ASC", "DESC"):
        raise invalid_parameters("sortDirection must be ASC or DESC")
    return value.upper() == "ASC"
