"""The models of GET /scheduler/available: the jobs running and the capacity left per account."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._common import datetime_from_iso

__all__ = ["AccountCapacity", "Capacity", "RunningTask"]


# --- GET /scheduler/available ----------------------------------------------------------------


@attrs.frozen
class RunningTask:
    """A generation task that this API token started and useapi.net still tracks as running.

    useapi.net tracks a task for up to an hour, or until it ends.

    Attributes:
        id: the task's ID.
        email: the account it runs on.
        started: when it started, as an ISO 8601 UTC string.
        elapsed: how long it has run, as ``"MM:SS"``.
        reply_url: the callback URL given when it was started, if any.
        reply_ref: the reference given with that callback, if any.
    """

    id: int
    email: str | None = None
    started: str | None = None
    elapsed: str | None = None
    reply_url: str | None = None
    reply_ref: str | None = None

    @property
    def started_at(self) -> datetime | None:
        """`started` as an aware UTC datetime; None when unset or not a date."""
        return datetime_from_iso(self.started)

    @property
    def elapsed_seconds(self) -> int | None:
        """`elapsed` (``"MM:SS"``, or ``"H:MM:SS"``) in seconds; None when unset or unreadable."""
        if not self.elapsed:
            return None
        parts = self.elapsed.strip().split(":")
        if not 2 <= len(parts) <= 3 or not all(part.isascii() and part.isdigit() for part in parts):
            return None
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + int(part)
        return seconds


@attrs.frozen
class AccountCapacity:
    """How many more jobs one account can take now.

    Attributes:
        email: the account.
        max_jobs: the most jobs useapi.net runs on it at once.
        executing: how many run now.
        available: how many more it can start now (``max_jobs - executing``).
    """

    email: str
    max_jobs: int | None = None
    executing: int | None = None
    available: int | None = None


@attrs.frozen
class Capacity:
    """The answer of GET /scheduler/available: what runs, and the room left on each account.

    Attributes:
        executing: the tasks this API token started that still run, over every account.
        available: one entry per configured account, in the server's order.
    """

    executing: tuple[RunningTask, ...] = ()
    available: tuple[AccountCapacity, ...] = ()

    @property
    def total_available(self) -> int:
        """How many more jobs the accounts can start now, all together."""
        return sum(account.available or 0 for account in self.available)
