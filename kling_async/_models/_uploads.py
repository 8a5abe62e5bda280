"""The models of GET /assets/uploaded and DELETE /assets/uploaded: uploaded files."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._assets import Resource
from ._common import datetime_from_ms

__all__ = ["DeleteResult", "UploadedAsset", "UploadsPage"]


# --- GET /assets/uploaded, DELETE /assets/uploaded -------------------------------------------


@attrs.frozen
class UploadedAsset:
    """A file uploaded to the account (as opposed to a generated work).

    Attributes:
        id: the asset's ID, a numeric string (what DELETE /assets/uploaded takes).
        name: the file name Kling gave it.
        user_id: the Kling user who uploaded it.
        content_type: ``"video"``, ``"image"`` or ``"audio"``.
        resource: the file.
        cover: its cover image; for an image, an empty placeholder.
        create_time: upload time, in ms.
        update_time: last update time, in ms.
        favored: whether the owner marked it favourite.
        extra_info: extra information, as a JSON document in a string.
        entrance: where it was uploaded from, usually empty.
    """

    id: str
    name: str | None = None
    user_id: int | None = None
    content_type: str | None = None
    resource: Resource | None = None
    cover: Resource | None = None
    create_time: int | None = None
    update_time: int | None = None
    favored: bool | None = None
    extra_info: str | None = None
    entrance: str | None = None

    @property
    def created_at(self) -> datetime | None:
        """`create_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.create_time)

    @property
    def updated_at(self) -> datetime | None:
        """`update_time` as an aware UTC datetime; None when unset or out of range."""
        return datetime_from_ms(self.update_time)


@attrs.frozen
class UploadsPage:
    """One page of GET /assets/uploaded.

    Attributes:
        upload_assets_list: the uploaded files of the page (also `assets`).
    """

    upload_assets_list: tuple[UploadedAsset, ...] = ()

    @property
    def assets(self) -> tuple[UploadedAsset, ...]:
        """The uploaded files of the page."""
        return self.upload_assets_list


@attrs.frozen
class DeleteResult:
    """The answer of DELETE /assets/uploaded.

    Attributes:
        deleted: how many assets were deleted.
        ids: the IDs of the deleted assets.
    """

    deleted: int | None = None
    ids: tuple[str, ...] = ()
