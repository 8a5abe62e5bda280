"""Small public types used in call signatures: enumerations and the "not given" sentinel."""

from __future__ import annotations

import enum
from typing import Final, Literal, TypeAlias

import attrs

from ._http import AnyTimeout

__all__ = [
    "NOT_GIVEN",
    "CallContext",
    "ContentType",
    "FileType",
    "NotGiven",
    "SortOrder",
    "TimeoutTypes",
]


class FileType(str, enum.Enum):
    """A file type that GET /assets/download can return. Plain strings in any case work too."""

    MP4 = "MP4"
    MP3 = "MP3"
    WAV = "WAV"
    PNG = "PNG"

    @property
    def extension(self) -> str:
        """The file name extension, without the dot: ``"mp4"``."""
        return self.value.lower()


class ContentType(str, enum.Enum):
    """A content type for filtering listings. Plain strings in any case work too."""

    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"


SortOrder: TypeAlias = Literal["asc", "desc"]
"""Listing order by creation time; the service's default is ``"desc"`` (newest first)."""


class NotGiven:
    """The type of `NOT_GIVEN`: an argument left out, where None already means something."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()
"""Default of per-call overrides such as ``timeout=``: "use the client's setting"."""

TimeoutTypes: TypeAlias = "float | AnyTimeout | None"
"""A timeout: seconds for every phase, an `httpx.Timeout` (of httpx2 or encode/httpx), or None
for no timeout at all."""


@attrs.frozen
class CallContext:
    """What an API call was for, carried onto each error it raises.

    Attributes:
        email: the account the call named (None: the client's default account, unnamed).
        page_num: the page of a listing, when the call fetched one.
    """

    email: str | None = None
    page_num: int | None = None
