"""Checking an export folder against its manifest, writing nothing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import attrs

from .._exceptions import InvalidInputError
from ._layout import MANIFEST_NAME, is_bookkeeping
from ._manifest import hash_file, read_entries

__all__ = ["VerifyReport", "verify_export"]


@attrs.define
class VerifyReport:
    """How an export folder compares with its manifest.

    Attributes:
        out_dir: the folder.
        checked: manifest entries checked.
        missing: files the manifest lists that are not there, as manifest paths.
        changed: files that are there but whose size or SHA-256 differs from their line.
        unexpected: files in the folder the manifest does not list (partial downloads
            included), relative to the folder.
        bad_lines: whether the manifest holds lines that are not well-formed entries, or
            several lines for one path.
    """

    out_dir: Path
    checked: int = 0
    missing: list[str] = attrs.Factory(list)
    changed: list[str] = attrs.Factory(list)
    unexpected: list[str] = attrs.Factory(list)
    bad_lines: bool = False

    @property
    def ok(self) -> bool:
        """Whether the folder holds exactly the manifest's files, intact."""
        return not (self.missing or self.changed or self.unexpected or self.bad_lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (what ``kling-async verify --json`` prints)."""
        return {
            "out_dir": str(self.out_dir),
            "ok": self.ok,
            "checked": self.checked,
            "missing": self.missing,
            "changed": self.changed,
            "unexpected": self.unexpected,
            "bad_lines": self.bad_lines,
        }


async def verify_export(out_dir: str | os.PathLike[str]) -> VerifyReport:
    """Check an export folder against its manifest, writing nothing.

    Every listed file must be there with its size and SHA-256, and no other file. Hashing
    runs in a worker thread.

    Raises `InvalidInputError` when the folder has no manifest.
    """
    return await anyio.to_thread.run_sync(_verify, Path(out_dir))


def _verify(out: Path) -> VerifyReport:
    manifest = out / MANIFEST_NAME
    if not manifest.is_file():
        raise InvalidInputError(f"{out} has no {MANIFEST_NAME}: not an export folder")
    entries, dirty = read_entries(manifest)
    report = VerifyReport(out, checked=len(entries), bad_lines=dirty)
    listed = set()
    for entry in entries:
        listed.add(entry.path)
        file = out / entry.path
        if not file.is_file():
            report.missing.append(entry.path)
        elif hash_file(file) != (entry.bytes, entry.sha256):
            report.changed.append(entry.path)
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(out).as_posix()
        if relative in listed or (path.parent == out and is_bookkeeping(path.name)):
            continue
        report.unexpected.append(relative)
    return report
