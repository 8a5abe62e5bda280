"""Fetching one file from the CDN into a ``.part`` file, hashed and flushed as it streams."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import anyio

from .._client import KlingClient
from .._exceptions import APIConnectionError, APIError
from .._http import httpx
from .._redact import without_query

__all__ = ["fetch_file"]

_CHUNK_SIZE = 64 * 1024


async def fetch_file(
    client: KlingClient, url: str, part: Path, on_bytes: Callable[[int], None]
) -> tuple[int, str]:
    """Stream ``url`` into ``part`` through the client's send path; return size and SHA-256.

    The client retries transient failures; each attempt writes ``part`` from the start (and
    reports the bytes it takes back to ``on_bytes`` as a negative count). The file is flushed
    and fsynced before this returns; a body shorter than its ``Content-Length`` is an
    `APIConnectionError` (retried like a dropped connection).
    """

    async def receive(response: httpx.Response) -> tuple[int, str]:
        written = [0]
        try:
            return await _stream(response, url, part, on_bytes, written)
        except BaseException:
            on_bytes(-written[0])  # the next attempt starts over
            raise

    return await client._fetch_file(url, receive)


async def _stream(
    response: httpx.Response,
    url: str,
    part: Path,
    on_bytes: Callable[[int], None],
    written: list[int],
) -> tuple[int, str]:
    """Write a 2xx CDN response's body into ``part``, hashing as it goes."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":  # asked for identity: a retry would get the same
        raise APIError(
            f"the CDN sent {without_query(url)} with Content-Encoding {encoding!r}, "
            "not the file as stored"
        )
    digest = hashlib.sha256()
    async with await anyio.open_file(part, "wb") as file:

        async def write(chunk: bytes) -> None:
            digest.update(chunk)
            await file.write(chunk)
            written[0] += len(chunk)
            on_bytes(len(chunk))

        if response.is_stream_consumed:  # a transport that read it already (MockTransport)
            await write(response.content)
        else:
            async for chunk in response.aiter_raw(_CHUNK_SIZE):
                await write(chunk)
        await file.flush()
        await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
    value = response.headers.get("content-length", "")
    expected = int(value) if value.isdigit() else None
    if expected is not None and expected != written[0]:
        raise APIConnectionError(
            f"the download from {without_query(url)} ended after {written[0]} of {expected} bytes"
        )
    return written[0], digest.hexdigest()
