"""One writer per export folder: an operating-system lock (filelock), and who holds it."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from .._exceptions import ExportLockedError, KlingError
from ._layout import LOCK_NAME, OWNER_NAME

__all__ = ["folder_lock"]


def _filelock() -> tuple[Any, type[Exception]]:
    """The ``FileLock`` and ``Timeout`` of filelock (the ``export`` extra)."""
    try:
        from filelock import FileLock, Timeout
    except ImportError:
        raise KlingError(
            "exporting needs filelock: pip install 'kling-async[export]' (or '[cli]')"
        ) from None
    return FileLock, Timeout


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold the export lock of ``out_dir`` (which exists) for the block.

    The lock is ``flock`` on Unix and a byte-range lock on Windows, through filelock: the
    operating system drops it when the process ends, however it ends. Raises
    `ExportLockedError`, having changed nothing, when another export holds it.
    """
    file_lock, timeout = _filelock()
    lock_path = out_dir / LOCK_NAME
    owner_path = out_dir / OWNER_NAME
    lock = file_lock(lock_path)
    try:
        lock.acquire(timeout=0)
    except timeout:
        raise _locked(lock_path, owner_path) from None
    try:
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        owner_path.write_bytes(orjson.dumps(owner))
        yield
    finally:
        with contextlib.suppress(OSError):
            owner_path.unlink()
        lock.release()


def _locked(lock_path: Path, owner_path: Path) -> ExportLockedError:
    pid = host = started = None
    with contextlib.suppress(OSError, orjson.JSONDecodeError, ValueError, TypeError):
        owner = orjson.loads(owner_path.read_bytes())
        pid = owner.get("pid") if isinstance(owner.get("pid"), int) else None
        host = owner.get("host") if isinstance(owner.get("host"), str) else None
        started = datetime.fromisoformat(owner["started"]) if "started" in owner else None
    who = f"pid {pid if pid is not None else '?'} on {host or '?'}"
    since = f", started {started.isoformat()}" if started is not None else ""
    return ExportLockedError(
        f"another export ({who}{since}) is writing {lock_path.parent}; this one changed nothing",
        lock_path=lock_path,
        pid=pid,
        host=host,
        started=started,
    )
