"""Splitting a list of IDs into chunks and making one call per chunk, concurrently.

Generic over the call: it knows nothing of endpoints. Every chunk ends as exactly one
`ChunkOutcome` (its value or its error), in input order; a failed chunk never hides another's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Generic, Literal, TypeAlias, TypeVar, Union

import anyio
import attrs

from .._exceptions import BatchError
from ._pacing import Pacer

__all__ = ["BatchResult", "ChunkFailed", "ChunkOutcome", "ChunkSucceeded", "chunked", "run_chunks"]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
K = TypeVar("K", int, str)
B = TypeVar("B", bound="BatchResult[Any, Any]")


@attrs.frozen
class ChunkSucceeded(Generic[R_co, K]):
    """A chunk whose call succeeded.

    ``ok`` is always True and ``error`` always None, so a `ChunkOutcome` narrows to this class
    on ``if chunk.ok:`` (or ``isinstance``), and ``value`` is then typed without ``None``.

    Attributes:
        ids: the chunk's IDs, in input order, typed like the model field they name.
        value: the call's decoded result.
    """

    ids: tuple[K, ...]
    value: R_co
    ok: ClassVar[Literal[True]] = True
    error: ClassVar[None] = None


@attrs.frozen
class ChunkFailed(Generic[K]):
    """A chunk whose call failed, after the client's retries.

    ``ok`` is always False and ``value`` always None.

    Attributes:
        ids: the chunk's IDs, in input order, typed like the model field they name.
        error: what the call raised.
    """

    ids: tuple[K, ...]
    error: Exception
    ok: ClassVar[Literal[False]] = False
    value: ClassVar[None] = None


ChunkOutcome: TypeAlias = Union[ChunkSucceeded[R_co, K], ChunkFailed[K]]  # noqa: UP007
"""What one chunk's call gave: a `ChunkSucceeded` or a `ChunkFailed`; ``chunk.ok`` tells which."""


@attrs.frozen
class BatchResult(Generic[R_co, K]):
    """The outcome of a batch call: one `ChunkOutcome` per chunk, in input order.

    Every input ID (after duplicates were removed) is in exactly one chunk, so it is in
    exactly one of `succeeded_ids` and `failed_ids`. IDs have the type of the model field they
    name: ``int`` for work IDs (like `Work.work_id`), ``str`` for upload IDs (like
    `UploadedAsset.id`), whichever form the caller passed them in.

    Attributes:
        chunks: one outcome per chunk, in input order.
    """

    chunks: tuple[ChunkOutcome[R_co, K], ...]

    @property
    def ok(self) -> bool:
        """Whether every chunk's call succeeded (`raise_for_errors` raises exactly when not)."""
        return all(chunk.ok for chunk in self.chunks)

    @property
    def succeeded(self) -> tuple[ChunkSucceeded[R_co, K], ...]:
        """The chunks whose call succeeded, in input order."""
        return tuple(chunk for chunk in self.chunks if chunk.ok)

    @property
    def failed(self) -> tuple[ChunkFailed[K], ...]:
        """The chunks whose call failed, in input order."""
        return tuple(chunk for chunk in self.chunks if not chunk.ok)

    @property
    def ids(self) -> tuple[K, ...]:
        """Every ID that was sent, in input order."""
        return tuple(id_ for chunk in self.chunks for id_ in chunk.ids)

    @property
    def succeeded_ids(self) -> tuple[K, ...]:
        """The IDs whose chunk succeeded, in input order."""
        return tuple(id_ for chunk in self.succeeded for id_ in chunk.ids)

    @property
    def failed_ids(self) -> tuple[K, ...]:
        """The IDs whose chunk failed, in input order."""
        return tuple(id_ for chunk in self.failed for id_ in chunk.ids)

    @property
    def errors(self) -> tuple[Exception, ...]:
        """Every failed chunk's error, in input order."""
        return tuple(chunk.error for chunk in self.failed)

    def raise_for_errors(self: B) -> B:
        """Raise `BatchError` when any chunk failed; otherwise return the result itself.

        The error carries every failed chunk's error (``errors``, in input order) and every
        ID of the failed chunks (``failed_ids``); the first error is also its ``__cause__``.
        """
        errors = self.errors
        if not errors:
            return self
        failed = self.failed_ids
        error = BatchError(self._failure_message(errors, failed), errors=errors, failed_ids=failed)
        raise error from errors[0]

    def _failure_message(self, errors: tuple[Exception, ...], failed: tuple[K, ...]) -> str:
        """The `BatchError`'s message; a result of a particular call words it its own way."""
        return (
            f"{len(errors)} of {len(self.chunks)} chunks failed ({len(failed)} IDs); "
            f"first error: {errors[0]}"
        )


def chunked(ids: Sequence[K], size: int) -> tuple[tuple[K, ...], ...]:
    """Split ``ids`` into consecutive chunks of ``size`` (the last one may be shorter)."""
    return tuple(tuple(ids[start : start + size]) for start in range(0, len(ids), size))


async def run_chunks(
    chunks: Sequence[tuple[K, ...]],
    call: Callable[[tuple[K, ...]], Awaitable[R]],
    *,
    concurrency: int,
    pacer: Pacer | None = None,
) -> tuple[ChunkOutcome[R, K], ...]:
    """Call ``call`` once per chunk, at most ``concurrency`` at a time; outcomes in input order.

    An `Exception` from a call becomes that chunk's outcome; cancellation (and other
    `BaseException`s) cancel every chunk and propagate. With ``pacer``, call starts are paced.
    """
    outcomes: list[ChunkOutcome[R, K] | None] = [None] * len(chunks)
    next_index = iter(range(len(chunks)))  # shared by the workers: each index is taken once

    async def work() -> None:
        for index in next_index:
            ids = chunks[index]
            if pacer is not None:
                await pacer.wait()
            try:
                value = await call(ids)
            except Exception as exc:  # cancellation is a BaseException and passes through
                outcomes[index] = ChunkFailed(ids, exc)
            else:
                outcomes[index] = ChunkSucceeded(ids, value)

    async with anyio.create_task_group() as tg:
        for _ in range(min(concurrency, len(chunks))):
            tg.start_soon(work)
    done = tuple(outcome for outcome in outcomes if outcome is not None)
    assert len(done) == len(chunks), "every chunk has an outcome"
    return done
