"""`upload`: any number of files uploaded concurrently (POST /assets), one outcome per file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import cast

import attrs

from .._client import KlingClient
from .._exceptions import InvalidInputError
from .._models import UploadResult
from .._params import normalize_email
from .._resources import UploadFile, UploadSource
from .._types import NOT_GIVEN, NotGiven, TimeoutTypes
from ._chunks import BatchResult, run_chunks
from ._fanout import clamp_concurrency
from ._pacing import make_pacer

__all__ = ["UploadBatchResult", "upload"]

_ONE_SOURCE = (str, os.PathLike, bytes, bytearray, memoryview, UploadFile)


@attrs.frozen
class UploadBatchResult(BatchResult[UploadResult, int]):
    """The outcome of `upload`: one `ChunkOutcome` per source, in input order.

    Each chunk holds one source, named by its position in the ``sources`` given (0-based):
    ``chunk.ids == (i,)``. So `succeeded_ids` and `failed_ids` are positions, every source is
    in exactly one of them, and `results` lines up with the sources.
    """

    @property
    def results(self) -> tuple[UploadResult | None, ...]:
        """Each source's `UploadResult`, in input order; None where its upload failed."""
        return tuple(chunk.value for chunk in self.chunks)

    def _failure_message(self, errors: tuple[Exception, ...], failed: tuple[int, ...]) -> str:
        # The failed IDs are the positions of the sources in the input.
        return (
            f"{len(errors)} of {len(self.chunks)} uploads failed (sources at "
            f"{', '.join(map(str, failed))}); first error: {errors[0]}"
        )


async def upload(
    client: KlingClient,
    sources: Iterable[UploadSource | UploadFile] | UploadSource | UploadFile,
    *,
    email: str | None = None,
    timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    concurrency: int = 4,
    max_per_second: float | None = None,
) -> UploadBatchResult:
    """Upload any number of files: one POST /assets per file, concurrently.

    Each source is what `UploadsResource.create` takes: a path or the bytes as they are, or an
    `UploadFile` giving its content type, its name or (for a stream) its size. Every source
    ends in exactly one outcome, in input order: a source that fails the checks of ``create``
    (a type the service does not take, a file over its limit, a missing file) fails with
    `InvalidInputError` and is never sent, and one failure never hides another's result.
    Retries follow ``create``: an upload that may have reached the service is not sent again.

    Args:
        client: the client to send through.
        sources: the files (a single path, bytes or `UploadFile` is one file); the same
            file twice is uploaded twice.
        email: the account (None: the client's default).
        timeout: the timeout of each upload, instead of the client's.
        concurrency: the most uploads in flight at once (clamped to the client's pool size).
        max_per_second: when given, upload starts are paced to at most this many a second.

    Bad arguments other than the sources (``email``, ``concurrency``, ``max_per_second``, no
    sources at all) raise `InvalidInputError` before any request.

    Example::

        result = await batch.upload(client, ["a.png", "b.mp4", UploadFile(data, file_name="c.jpg")])
        for position, uploaded in enumerate(result.results):
            print(position, uploaded.file_name if uploaded else "failed")
        result.raise_for_errors()
    """
    items = _sources(sources)
    account = normalize_email(email)
    limit = clamp_concurrency(client, concurrency)
    pacer = make_pacer(max_per_second)

    async def call(ids: tuple[int, ...]) -> UploadResult:
        (position,) = ids
        item = items[position]
        if isinstance(item, UploadFile):
            return await client.uploads.create(
                item.source,
                content_type=item.content_type,
                file_name=item.file_name,
                size=item.size,
                email=account,
                timeout=timeout,
            )
        return await client.uploads.create(item, email=account, timeout=timeout)

    chunks = [(position,) for position in range(len(items))]
    return UploadBatchResult(await run_chunks(chunks, call, concurrency=limit, pacer=pacer))


def _sources(sources: object) -> list[UploadSource | UploadFile]:
    """The sources as a list; a single path, bytes or `UploadFile` is one source."""
    if isinstance(sources, _ONE_SOURCE):
        return [cast("UploadSource | UploadFile", sources)]
    if isinstance(sources, Mapping) or not isinstance(sources, Iterable):
        raise InvalidInputError(
            "sources must be paths, bytes or UploadFile objects (or one of them), "
            f"not {type(sources).__name__}"
        )
    items: list[UploadSource | UploadFile] = list(sources)
    if not items:
        raise InvalidInputError("sources is empty: pass at least one file")
    return items
