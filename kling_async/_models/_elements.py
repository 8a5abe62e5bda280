"""The models of GET /elements and GET /elements/{elementId}: elements and pages of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._common import datetime_from_ms, free_form

__all__ = ["Element", "ElementResource", "ElementTag", "ElementsPage", "Voice"]


# --- GET /elements/{elementId}, GET /elements ------------------------------------------------


@attrs.frozen
class Voice:
    """A voice attached to an element or to one of its resources.

    Attributes:
        id: the voice's ID.
        name: its name.
        official: whether it is one of Kling's own voices.
        resource: free-form details of the voice's audio.
    """

    id: int
    name: str | None = None
    official: bool | None = None
    resource: dict[str, Any] | None = attrs.field(default=None, hash=False)


@attrs.frozen
class ElementResource:
    """One reference image or video of an element.

    Attributes:
        resource: the file's URL.
        width: width in pixels.
        height: height in pixels.
        resource_key: its role: ``"cover"``, ``"secondary"`` or ``"video"``.
        cover: whether it is the element's cover.
        slot_key: the view it shows, e.g. ``"side"``; empty for the main image.
        voice: the voice attached to it, if any.
    """

    resource: str | None = None
    width: int | None = None
    height: int | None = None
    resource_key: str | None = None
    cover: bool | None = None
    slot_key: str | None = None
    voice: Voice | None = None


@attrs.frozen
class ElementTag:
    """The tag of an element, in the earliest documented shape of the element list.

    Attributes:
        id: the tag's ID.
        tag_key: its key.
        tag_desc: its description.
    """

    id: str
    tag_key: str | None = None
    tag_desc: str | None = None


@attrs.frozen
class Element:
    """A reusable character, object or scene that generations can refer to.

    Attributes:
        id: the element's ID, e.g. ``"u_..."``.
        name: its name.
        user_id: the Kling user who owns it.
        type: ``"IMAGE"`` or ``"VIDEO"``.
        description: its description.
        cover: its cover image.
        resources: its reference images or videos.
        tag_list: free-form tags.
        voice: the voice attached to it, if any.
        cover_image: its cover image's URL, in the earliest documented list shape (where
            `cover` is absent).
        image_resources: its reference images' URLs, in that same earliest shape.
        tag: its one tag, in that same earliest shape.
        current_version: its version number.
        create_time: creation time, in ms.
        update_time: last update time, in ms.
        favored: whether the owner marked it favourite.
        official: whether it is one of Kling's own elements.
    """

    id: str
    name: str | None = None
    user_id: int | None = None
    type: str | None = None
    description: str | None = None
    cover: ElementResource | None = None
    resources: tuple[ElementResource, ...] = ()
    tag_list: tuple[Any, ...] = free_form()
    voice: Voice | None = None
    cover_image: str | None = None
    image_resources: tuple[str, ...] = ()
    tag: ElementTag | None = None
    current_version: int | None = None
    create_time: int | None = None
    update_time: int | None = None
    favored: bool | None = None
    official: bool | None = None

    @property
    def created_at(self) -> datetime | None:
        """`create_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.create_time)

    @property
    def updated_at(self) -> datetime | None:
        """`update_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.update_time)


@attrs.frozen
class ElementsPage:
    """One page of GET /elements.

    Attributes:
        elements_list: the elements of the page (also `elements`).
        page_num: the page's number, from 1.
        page_size: the page size it was asked with.
        total: how many elements match the listing's filters, over all its pages.
    """

    elements_list: tuple[Element, ...] = ()
    page_num: int | None = None
    page_size: int | None = None
    total: int | None = None

    @property
    def elements(self) -> tuple[Element, ...]:
        """The elements of the page."""
        return self.elements_list
