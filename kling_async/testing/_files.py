"""The bytes behind the fake CDN: deterministic files, and the zips downloads are served as."""

from __future__ import annotations

import functools
import io
import random
import zipfile
from collections.abc import Iterable, Mapping, Sequence

from ._data import Dataset, TaskRecord

__all__ = [
    "FILE_EXTENSIONS",
    "MEDIA_TYPES",
    "build_zip",
    "download_members",
    "expected_file_bytes",
    "find_works",
    "member_name",
    "zip_members",
]

#: File extension for each download file type.
FILE_EXTENSIONS = {"MP4": "mp4", "MP3": "mp3", "WAV": "wav", "PNG": "png"}

#: Content-Type the fake CDN serves for each file extension.
MEDIA_TYPES = {
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "png": "image/png",
    "zip": "application/zip",
}

_MAGIC = {
    "MP4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
    "MP3": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "WAV": b"RIFF\x00\x00\x00\x00WAVEfmt ",
    "PNG": b"\x89PNG\r\n\x1a\n",
}

# Fixed member timestamp, so a zip of the same files is byte-identical every time.
_ZIP_DATE = (2025, 5, 1, 0, 0, 0)


def _normalize_type(file_type: str) -> str:
    kind = file_type.strip().upper()
    if kind not in FILE_EXTENSIONS:
        raise ValueError(f"unknown file type {file_type!r}; expected one of MP4, MP3, WAV, PNG")
    return kind


def member_name(work_id: int | str, file_type: str) -> str:
    """The name of a work's file inside a download zip, e.g. ``"320001234.mp4"``."""
    return f"{int(work_id)}.{FILE_EXTENSIONS[_normalize_type(file_type)]}"


def expected_file_bytes(work_id: int | str, file_type: str) -> bytes:
    """The exact bytes the fake CDN serves for one work's file of ``file_type``.

    The content depends only on the work ID and the file type (never on the server's seed):
    a format-like magic header followed by 1-64 KiB of pseudo-random bytes.

    Example::

        assert response.content == expected_file_bytes(work_id, "MP4")
    """
    return _file_bytes(int(work_id), _normalize_type(file_type))


@functools.lru_cache(maxsize=512)
def _file_bytes(work_id: int, kind: str) -> bytes:
    rng = random.Random(f"kling-fake-file:{work_id}:{kind}")
    size = rng.randrange(1024, 64 * 1024)
    magic = _MAGIC[kind]
    return magic + rng.randbytes(size - len(magic))


def build_zip(members: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """A deterministic (stored, fixed-timestamp) zip archive of ``members`` in order."""
    items = members.items() if isinstance(members, Mapping) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def find_works(dataset: Dataset, work_ids: Iterable[int]) -> list[tuple[int, TaskRecord]]:
    """Each work ID with the task holding it, in any account; KeyError for an unknown one."""
    found: list[tuple[int, TaskRecord]] = []
    for work_id in work_ids:
        located = dataset.find_work(work_id)
        if located is None:
            raise KeyError(f"no work {work_id} in the dataset")
        found.append((work_id, located[1]))
    return found


def download_members(
    tasks: Sequence[tuple[int, TaskRecord]], file_types: Sequence[str] | None
) -> list[tuple[int, str]]:
    """The ``(work_id, file_type)`` files a download of these works holds, in order.

    Without ``file_types`` each work contributes every type it offers; with them, the requested
    types it offers (in the requested order).
    """
    members: list[tuple[int, str]] = []
    for work_id, task in tasks:
        wanted = task.file_types if file_types is None else file_types
        members.extend((work_id, kind) for kind in wanted if kind in task.file_types)
    return members


def zip_members(
    tasks: Sequence[tuple[int, TaskRecord]], file_types: Sequence[str] | None
) -> list[tuple[str, bytes]]:
    """The ``(name, bytes)`` members of the zip a download of these works serves, in order."""
    return [
        (member_name(work_id, kind), expected_file_bytes(work_id, kind))
        for work_id, kind in download_members(tasks, file_types)
    ]
