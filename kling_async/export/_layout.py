"""Where an export puts things: the folder of an account, the file of a work, its type."""

from __future__ import annotations

import contextlib
import re

from .._exceptions import KlingError
from .._models import Work
from .._types import FileType

__all__ = [
    "DEFAULT_FOLDER",
    "FAILED_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "OWNER_NAME",
    "choose_file_type",
    "folder_for",
    "is_bookkeeping",
    "is_part",
    "offered_types",
]

MANIFEST_NAME = "manifest.jsonl"
"""The manifest's file name inside the export folder: one JSON line per exported file."""

FAILED_NAME = "failed.jsonl"
"""The failures' file name inside the export folder: one JSON line per work that failed."""

LOCK_NAME = ".kling-export.lock"
"""The lock file that keeps a second export out of the folder."""

OWNER_NAME = ".kling-export.owner.json"
"""Who holds the lock: pid, host and start time of the running export."""

DEFAULT_FOLDER = "default"
"""The folder of the client's default account, when no email names it."""

_BY_CONTENT_TYPE = {"video": FileType.MP4, "image": FileType.PNG, "audio": FileType.MP3}
_PART_NAME = re.compile(r"\.[0-9]+\.[a-z0-9]+\.part")
_UNSAFE_IN_FOLDER = re.compile(r"[^A-Za-z0-9@._+-]")
_BOOKKEEPING = frozenset(
    {
        MANIFEST_NAME,
        FAILED_NAME,
        LOCK_NAME,
        OWNER_NAME,
        f".{MANIFEST_NAME}.part",
        f".{FAILED_NAME}.part",
    }
)


def folder_for(account: str | None) -> str:
    """The folder name of an account: its email, lower-cased, reduced to safe characters."""
    if account is None:
        return DEFAULT_FOLDER
    name = _UNSAFE_IN_FOLDER.sub("_", account.strip().lower())
    return name if name.strip(".") else DEFAULT_FOLDER


def file_name(work_id: int, file_type: FileType) -> str:
    """The file name of a work: ``<workId>.<ext>``."""
    return f"{work_id}.{file_type.extension}"


def is_part(name: str) -> bool:
    """Whether ``name`` is a partial download (``.<workId>.<ext>.part``)."""
    return _PART_NAME.fullmatch(name) is not None


def is_bookkeeping(name: str) -> bool:
    """Whether ``name`` (at the folder's top level) is the export's own: manifest, lock, ..."""
    return name in _BOOKKEEPING


def offered_types(work: Work) -> tuple[FileType, ...]:
    """The file types a work's ``downloadInfo`` offers, in its order (unknown ones left out)."""
    offered: list[FileType] = []
    info = work.download_info
    for entry in info.file_types if info is not None else ():
        with contextlib.suppress(ValueError):
            offered.append(FileType((entry.type or "").upper()))
    return tuple(offered)


def choose_file_type(work: Work, wanted: FileType | None) -> FileType | None:
    """The file type to download for ``work``: None when it does not offer ``wanted``.

    With ``wanted``, that type (unless the work lists its types and it is not among them);
    else the type its content type suggests (video: MP4, image: PNG, audio: MP3) when the work
    offers it; else the first type it offers. Raises `KlingError` when there is no way to tell
    (no ``wanted``, an unknown content type and no ``downloadInfo``).
    """
    offered = offered_types(work)
    if wanted is not None:
        return None if offered and wanted not in offered else wanted
    preferred = _BY_CONTENT_TYPE.get((work.content_type or "").lower())
    if preferred is not None and (not offered or preferred in offered):
        return preferred
    if offered:
        return offered[0]
    raise KlingError(f"cannot tell which file to download (content type {work.content_type!r})")
