"""The manifest (``manifest.jsonl``): one line per exported file, and the rules of trust.

A line is written only once its file is complete under its final name, in one unbuffered
write, so a killed export leaves whole lines. On the next run a line is kept only while its
file is there with the recorded size (and, with ``verify``, the recorded SHA-256); a file
without a trusted line is fetched again, never adopted. Whenever lines are dropped, the
manifest is rewritten atomically (a new file, fsynced, renamed over the old one).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import os
from collections.abc import Iterable
from pathlib import Path

import attrs
import orjson

from ._layout import FAILED_NAME, MANIFEST_NAME
from ._report import FailedWork

__all__ = ["Manifest", "ManifestEntry", "hash_file", "write_atomically", "write_failures"]


@attrs.frozen
class ManifestEntry:
    """One line of ``manifest.jsonl``: a file of the export and the work it holds.

    Attributes:
        account: the account's email; None for the client's default account.
        work_id: the work's ID.
        content_type: ``"video"``, ``"image"`` or ``"audio"``, as listed.
        file_type: the downloaded file type, e.g. ``"MP4"``.
        prompt: the work's prompt, if any.
        created_at: the work's creation time, ISO-8601 in UTC, if known.
        path: the file, relative to the export folder, with ``/`` separators.
        bytes: the file's size.
        sha256: the file's SHA-256, in hex.
    """

    account: str | None
    work_id: int
    content_type: str | None
    file_type: str
    prompt: str | None
    created_at: str | None
    path: str
    bytes: int
    sha256: str

    def to_json(self) -> builtins.bytes:
        """The manifest line, newline included."""
        return orjson.dumps(attrs.asdict(self)) + b"\n"

    @classmethod
    def from_json(cls, line: builtins.bytes) -> ManifestEntry | None:
        """Parse one manifest line; None when it is not a well-formed entry."""
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        try:
            entry = cls(**data)
        except TypeError:
            return None
        ok = (
            type(entry.work_id) is int
            and isinstance(entry.path, str)
            and type(entry.bytes) is int
            and isinstance(entry.sha256, str)
            and _safe_relative(entry.path)
        )
        return entry if ok else None


def _safe_relative(path: str) -> bool:
    """Whether ``path`` stays inside the export folder (no absolute path, no ``..``)."""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "" not in parts


def hash_file(path: Path) -> tuple[int, str]:
    """The size and SHA-256 (hex) of a file, read in 1 MiB blocks (blocking: run in a thread)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def read_entries(path: Path) -> tuple[list[ManifestEntry], bool]:
    """The well-formed entries of a manifest file (the first line of each path).

    Also whether the file held anything else: bad lines, repeats, a last line cut short.
    """
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return [], False
    dirty = bool(content) and not content.endswith(b"\n")
    entries: dict[str, ManifestEntry] = {}
    for line in content.splitlines():
        if not line.strip():
            continue
        entry = ManifestEntry.from_json(line)
        if entry is None or entry.path in entries:
            dirty = True
            continue
        entries[entry.path] = entry
    return list(entries.values()), dirty


def write_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content``, so that a crash leaves the old file or the new one.

    The content goes to a temporary file, fsynced, renamed over ``path``; then the folder is
    fsynced.
    """
    part = path.with_name(f".{path.name}.part")
    with part.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(part, path)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make the folder's entries (names created, renamed) durable, where the OS allows it."""
    with contextlib.suppress(OSError):  # e.g. Windows cannot open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_failures(out_dir: Path, failures: Iterable[FailedWork]) -> None:
    """Rewrite ``failed.jsonl`` with ``failures`` (one JSON object a line); remove it if none."""
    lines = b"".join(orjson.dumps(attrs.asdict(failure)) + b"\n" for failure in failures)
    path = out_dir / FAILED_NAME
    if lines:
        write_atomically(path, lines)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Manifest:
    """The manifest of an export folder: the trusted entries, and appending new ones."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST_NAME
        self.entries: dict[str, ManifestEntry] = {}
        self._file: io.RawIOBase | None = None

    def load(self, *, verify: bool = False, rewrite: bool = True) -> int:
        """Read the manifest, keep the entries whose file is intact, return how many dropped.

        With ``verify`` every file is hashed too. Blocking: run it in a thread.

        With ``rewrite`` (not in a dry run), a manifest that held anything untrusted is
        rewritten with the trusted entries only.
        """
        entries, dirty = read_entries(self.path)
        dropped = 0
        for entry in entries:
            if self._intact(entry, verify=verify):
                self.entries[entry.path] = entry
            else:
                dropped += 1
        if rewrite and (dirty or dropped):
            write_atomically(self.path, b"".join(e.to_json() for e in self.entries.values()))
        return dropped

    def _intact(self, entry: ManifestEntry, *, verify: bool) -> bool:
        file = self.out_dir / entry.path
        try:
            if not file.is_file() or file.stat().st_size != entry.bytes:
                return False
            return not verify or hash_file(file) == (entry.bytes, entry.sha256)
        except OSError:
            return False

    def work_ids(self) -> dict[str, set[int]]:
        """The work IDs with a trusted entry, by account folder."""
        by_folder: dict[str, set[int]] = {}
        for entry in self.entries.values():
            folder = entry.path.split("/", 1)[0]
            by_folder.setdefault(folder, set()).add(entry.work_id)
        return by_folder

    def open(self) -> None:
        """Open the manifest for appending; each line goes out in one unbuffered write."""
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()

    def append(self, entry: ManifestEntry) -> None:
        """Record ``entry``: one write of a whole line (never a partial line on a kill)."""
        if entry.path in self.entries or self._file is None:
            return
        self._file.write(entry.to_json())
        self.entries[entry.path] = entry

    def close(self) -> None:
        """Flush the manifest to disk and close it."""
        if self._file is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
