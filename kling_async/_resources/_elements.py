"""``client.elements``: elements (reusable characters, objects and scenes)."""

from __future__ import annotations

from .._models import Element
from .._params import path_segment
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import Resource, query

__all__ = ["ElementsResource"]


class ElementsResource(Resource):
    """Elements (reusable characters, objects and scenes): GET /elements/{elementId}."""

    __slots__ = ()

    async def get(
        self,
        element_id: str,
        *,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> Element:
        """Get one element by its ID (e.g. ``"u_123456789012345"``); `NotFoundError` if unknown."""
        path = "/elements/" + path_segment(element_id, "element_id")
        params = query(email=self._requester.account(email))
        context = CallContext(email=params.get("email"))
        return await self._requester.request(
            "GET", path, Element, params=params, timeout=timeout, context=context
        )
