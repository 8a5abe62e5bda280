"""Splitting a list of IDs into chunks and making one call per chunk, concurrently.

Generic over the call: it knows nothing of endpoints. Every chunk ends as exactly one
`ChunkOutcome` (its value or its error), in input order; a failed chunk never hides another's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import anyio
import attrs

from .._exceptions import BatchError
from ._pacing import Pacer

__all__ = ["BatchResult", "ChunkOutcome", "chunked", "run_chunks"]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
B = TypeVar("B", bound="BatchResult[Any]")


@attrs.frozen
class ChunkOutcome(Generic[R_co]):
    """What one chunk's call gave: its decoded result, or the error it failed with.

    Attributes:
        ids: the chunk's IDs, normalised, as sent.
        value: the decoded result when the call succeeded, else None.
        error: the error (after the client's retries) when it failed, else None.
    """

    ids: tuple[str, ...]
    value: R_co | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None


@attrs.frozen
class BatchResult(Generic[R_co]):
    """The outcome of a batch call: one `ChunkOutcome` per chunk, in input order.

    Every input ID (after duplicates were removed) is in exactly one chunk, so it is in
    exactly one of `succeeded_ids` and `failed_ids`.

    Attributes:
        chunks: one outcome per chunk, in input order.
    """

    chunks: tuple[ChunkOutcome[R_co], ...]

    @property
    def ok(self) -> bool:
        """Whether every chunk's call succeeded (`raise_for_errors` raises exactly when not)."""
        return all(chunk.ok for chunk in self.chunks)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every ID that was sent, normalised, in input order."""
        return tuple(id_ for chunk in self.chunks for id_ in chunk.ids)

    @property
    def succeeded_ids(self) -> tuple[str, ...]:
        """The IDs whose chunk succeeded, in input order."""
        return tuple(id_ for chunk in self.chunks if chunk.ok for id_ in chunk.ids)

    @property
    def failed_ids(self) -> tuple[str, ...]:
        """The IDs whose chunk failed, in input order."""
        return tuple(id_ for chunk in self.chunks if not chunk.ok for id_ in chunk.ids)

    @property
    def errors(self) -> tuple[Exception, ...]:
        """Every failed chunk's error, in input order."""
        return tuple(chunk.error for chunk in self.chunks if chunk.error is not None)

    def raise_for_errors(self: B) -> B:
        """Raise `BatchError` when any chunk failed; otherwise return the result itself.

        The error carries every failed chunk's error (``errors``, in input order) and every
        ID of the failed chunks (``failed_ids``); the first error is also its ``__cause__``.
        """
        errors = self.errors
        if not errors:
            return self
        failed = sum(1 for chunk in self.chunks if not chunk.ok)
        error = BatchError(
            f"{failed} of {len(self.chunks)} chunks failed ({len(self.failed_ids)} IDs); "
            f"first error: {errors[0]}",
            errors=errors,
            failed_ids=self.failed_ids,
        )
        raise error from errors[0]


def chunked(ids: Sequence[str], size: int) -> tuple[tuple[str, ...], ...]:
    """Split ``ids`` into consecutive chunks of ``size`` (the last one may be shorter)."""
    return tuple(tuple(ids[start : start + size]) for start in range(0, len(ids), size))


async def run_chunks(
    chunks: Sequence[tuple[str, ...]],
    call: Callable[[tuple[str, ...]], Awaitable[R]],
    *,
    concurrency: int,
    pacer: Pacer | None = None,
) -> tuple[ChunkOutcome[R], ...]:
    """Call ``call`` once per chunk, at most ``concurrency`` at a time; outcomes in input order.

    An `Exception` from a call becomes that chunk's outcome; cancellation (and other
    `BaseException`s) cancel every chunk and propagate. With ``pacer``, call starts are paced.
    """
    outcomes: list[ChunkOutcome[R] | None] = [None] * len(chunks)
    next_index = iter(range(len(chunks)))  # shared by the workers: each index is taken once

    async def work() -> None:
        for index in next_index:
            ids = chunks[index]
            if pacer is not None:
                await pacer.wait()
            try:
                value = await call(ids)
            except Exception as exc:  # cancellation is a BaseException and passes through
                outcomes[index] = ChunkOutcome(ids, error=exc)
            else:
                outcomes[index] = ChunkOutcome(ids, value=value)

    async with anyio.create_task_group() as tg:
        for _ in range(min(concurrency, len(chunks))):
            tg.start_soon(work)
    done = tuple(outcome for outcome in outcomes if outcome is not None)
    assert len(done) == len(chunks), "every chunk has an outcome"
    return done
