"""What every model module shares: timestamps as datetimes, free-form JSON fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

__all__ = ["datetime_from_iso", "datetime_from_ms", "free_form"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def datetime_from_ms(milliseconds: int | None) -> datetime | None:
    """Turn a millisecond Unix timestamp into an aware UTC datetime.

    ``None`` and ``0`` both give ``None``: the server sends ``0`` for a moment that has not
    happened (a work that was never published), and no Kling object dates from 1970. So does
    a timestamp outside what `datetime` can hold (years 1 to 9999); the raw number stays on
    the model.
    """
    if not milliseconds:
        return None
    try:
        # timedelta arithmetic is exact to the millisecond, unlike fromtimestamp(ms / 1000).
        return _EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError:
        return None


def datetime_from_iso(text: str | None) -> datetime | None:
    """Turn an ISO 8601 date and time (``"2026-01-01T00:00:00.000Z"``) into an aware UTC datetime.

    ``None``, a string that is not such a date, and one without a UTC offset give ``None``.
    """
    if not text:
        return None
    if text[-1:] in ("Z", "z"):  # fromisoformat takes "Z" only from Python 3.11 on
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc)


def free_form() -> Any:
    """A free-form JSON field: compared, not hashed (its content may be unhashable)."""
    return attrs.field(default=(), hash=False)
