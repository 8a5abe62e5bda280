"""The models of POST /assets, GET /assets/uploaded and DELETE /assets/uploaded: uploaded files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._assets import Resource
from ._common import datetime_from_ms

__all__ = ["DeleteResult", "UploadResult", "UploadedAsset", "UploadsPage"]


# --- POST /assets ----------------------------------------------------------------------------


@attrs.frozen
class UploadResult:
    """The answer of POST /assets: where the uploaded file now is.

    ``client.uploads.create`` returns it only for a success (`status` 3 or 1); a body that
    reports a failure is raised as `OperationFailedError`. The file is also listed by
    GET /assets/uploaded, under `file_name` (``client.uploads.list(file_name=...)``).

    Attributes:
        status: 3 for an image, 1 for a video (the service does not document audio's).
        url: the uploaded file's URL (images and audio).
        message: the service's message; empty on success.
        file_name: the unique name the service gave the file.
        resource_url: the processed file's URL (videos).
        cover_url: the cover image's URL (videos).
        cover: the cover, in a form the service does not document.
    """

    status: int | None = None
    url: str | None = None
    message: str | None = None
    file_name: str | None = None
    resource_url: str | None = None
    cover_url: str | None = None
    cover: Any = attrs.field(default=None, hash=False)

    @property
    def ok(self) -> bool:
        """Whether `status` says the upload succeeded (3 or 1)."""
        return self.status in _OK_STATUSES


_OK_STATUSES = frozenset({1, 3})


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
