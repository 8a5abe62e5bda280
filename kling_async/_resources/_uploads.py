"""``client.uploads``: uploaded files, uploaded (POST /assets), listed and deleted."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from typing import TYPE_CHECKING, Literal, TypeAlias

import anyio
import attrs

from .._exceptions import InvalidInputError
from .._models import DeleteResult, UploadedAsset, UploadResult, UploadsPage
from .._pagination import PageSource, iter_pages
from .._params import (
    MAX_DELETE_IDS,
    check_upload_size,
    normalize_content_type,
    normalize_file_name,
    normalize_ids,
    normalize_sort,
    positive_int,
    upload_content_type,
)
from .._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._base import RequestContent, Resource, flatten, query
from ._listing import listing
from ._options import UPLOADS_PAGE_SIZE, UploadsListOptions, check_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["UploadFile", "UploadSource", "UploadsResource"]

UploadSource: TypeAlias = str | os.PathLike[str] | bytes | AsyncIterable[bytes]
"""What `UploadsResource.create` uploads: a file's path, its bytes, or a stream of its bytes."""

_CHUNK = 256 * 1024  # bytes read from disk at a time


@attrs.frozen(eq=False)
class UploadFile:
    """One file for `kling_async.batch.upload`, with what `UploadsResource.create` takes about it.

    A path or bytes alone can be passed to ``batch.upload`` as they are; wrap a source in an
    ``UploadFile`` to give its content type, its name or (for a stream) its size.

    Attributes:
        source: a path, the bytes, or an async stream of bytes.
        content_type: its MIME type, e.g. ``"image/png"``; None guesses it from the name.
        file_name: the name to guess the type from (a path's own name by default).
        size: a stream's length in bytes (required for a stream, refused otherwise).

    Example::

        files = ["cat.png", UploadFile(png_bytes, content_type="image/png")]
        result = await batch.upload(client, files)
    """

    source: UploadSource
    content_type: str | None = None
    file_name: str | None = None
    size: int | None = None


class UploadsResource(Resource):
    """Uploaded files: uploading (POST /assets), listing (GET /assets/uploaded) and deleting.

    The listing methods take the options of `UploadsListOptions` as keywords
    (``content_type``, ``file_name``, ``page_size``, ``sort``, ``timeout``), and ``email=``
    for an account other than the client's default.
    """

    __slots__ = ()

    async def create(
        self,
        source: UploadSource,
        *,
        content_type: str | None = None,
        file_name: str | None = None,
        size: int | None = None,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> UploadResult:
        """Upload an image, a video or an audio file to the account (POST /assets).

        ``source`` is a path (streamed from disk, never read into memory whole), the file's
        bytes, or an async iterable of its bytes with ``size=`` its length. The content type
        is ``content_type``, else guessed from the name (``file_name``, or the path's), and
        must be one the service takes, within its size limit (`kling_async.UPLOAD_LIMITS`:
        10 MB for PNG and JPEG images, 100 MB for MP4 and QuickTime videos, 20 MB for audio).
        The type, the size and the arguments are checked before anything is sent: a
        problem raises `InvalidInputError` and sends nothing. The body is the raw file with
        that ``Content-Type`` and its ``Content-Length``, as the service expects.

        A 200 whose body reports a failure (a ``status`` other than 3 or 1) raises
        `OperationFailedError` with the service's message.

        Retries: the service has no idempotency key, so an upload that reached it is never
        sent again (a second copy would be stored). It is retried, within the client's retry
        policy, only when it surely did not reach the service (no connection could be made)
        or the service turned it away unread (408, 429), and only when the body can be sent
        again: a path is read again from the start, bytes are kept; a stream is read once,
        so after it has started it is not retried.

        A stream must yield exactly ``size`` bytes, and a file must keep its size while it is
        read: otherwise the upload is cut off with `InvalidInputError`. What the stream itself
        raises ends the call as it is.

        Args:
            source: the file's path, its bytes, or an async iterable of its bytes.
            content_type: its MIME type, e.g. ``"image/png"``; None guesses it from the name.
            file_name: the name to guess the type from (default: the path's own name); the
                service names the file itself (`UploadResult.file_name`).
            size: a stream's length in bytes; required for a stream, refused otherwise.
            email: the account (None: the client's default).
            timeout: this call's timeout, instead of the client's (a large file may need a
                longer read timeout while the service processes it).

        Example::

            result = await client.uploads.create("cat.png")
            print(result.url, result.file_name)
            video = await client.uploads.create(data, content_type="video/mp4")
        """
        upload = _Upload.check(source, content_type, file_name, size)
        account = self._requester.account(email)
        content, length = await upload.body()
        return await self._requester.request(
            "POST",
            "/assets",
            UploadResult,
            params=query(email=account),
            timeout=timeout,
            context=CallContext(email=account),
            content=content,
            headers={"Content-Type": upload.content_type, "Content-Length": str(length)},
            check=_upload_failure,
        )

    async def list(
        self,
        *,
        page_num: int = 1,
        email: str | None = None,
        **options: Unpack[UploadsListOptions],
    ) -> UploadsPage:
        """Get one page of uploaded files (GET /assets/uploaded): page 1 unless ``page_num``."""
        page_num = positive_int(page_num, "page_num")
        return await self._source("uploads.list", email, options).fetch(page_num)

    def iter_pages(
        self, *, email: str | None = None, **options: Unpack[UploadsListOptions]
    ) -> AsyncGenerator[UploadsPage, None]:
        """Iterate over every non-empty page of uploaded files, in order."""
        return iter_pages(self._source("uploads.iter_pages", email, options))

    def iter_assets(
        self, *, email: str | None = None, **options: Unpack[UploadsListOptions]
    ) -> AsyncGenerator[UploadedAsset, None]:
        """Iterate over every uploaded file of the account, page after page, in order."""
        pages = iter_pages(self._source("uploads.iter_assets", email, options))
        return flatten(pages, _assets_of)

    def page_source(
        self, *, email: str | None = None, **options: Unpack[UploadsListOptions]
    ) -> PageSource[UploadsPage]:
        """The GET /assets/uploaded listing as a `PageSource`, for `kling_async.batch`."""
        return self._source("uploads.page_source", email, options)

    async def delete(
        self,
        ids: Iterable[int | str] | int | str,
        *,
        email: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> DeleteResult:
        """Delete up to 10 uploaded files (DELETE /assets/uploaded); there is no undo.

        The service needs the account's email for this call: pass ``email=`` or set the client's.
        `kling_async.batch.delete_uploaded` deletes any number, 10 per call, concurrently.
        """
        normalized = normalize_ids(ids, name="ids", max_count=MAX_DELETE_IDS)
        account = self._requester.account(email)
        if account is None:
            raise InvalidInputError(
                "uploads.delete needs the account's email: pass email= or KlingClient(email=...)"
            )
        params = {"email": account, "id": ",".join(normalized)}
        return await self._requester.request(
            "DELETE",
            "/assets/uploaded",
            DeleteResult,
            params=params,
            timeout=timeout,
            context=CallContext(email=account),
        )

    def _source(
        self, caller: str, email: str | None, options: UploadsListOptions
    ) -> PageSource[UploadsPage]:
        check_options(options, UploadsListOptions, caller)
        page_size = positive_int(options.get("page_size", UPLOADS_PAGE_SIZE), "page_size")
        params = query(
            email=self._requester.account(email),
            pageSize=page_size,
            contentType=normalize_content_type(options.get("content_type")),
            fileName=normalize_file_name(options.get("file_name")),
            sort=normalize_sort(options.get("sort")),
        )
        timeout = options.get("timeout", NOT_GIVEN)
        return listing(
            self._requester,
            "/assets/uploaded",
            UploadsPage,
            _upload_count,
            params,
            page_size,
            timeout,
        )


def _upload_count(page: UploadsPage) -> int:
    return len(page.upload_assets_list)


def _assets_of(page: UploadsPage) -> tuple[UploadedAsset, ...]:
    return page.upload_assets_list


def _upload_failure(result: UploadResult) -> str | None:
    """What failed, when the answer of POST /assets reports a failure; else None."""
    if result.ok:
        return None
    said = result.message or "no message"
    return f"the upload failed: {said} (status {result.status})"


@attrs.frozen
class _Upload:
    """A source for POST /assets, checked: what it is, its content type, what to call it."""

    source: object  # the path (from os.fspath), the bytes, or the stream
    kind: Literal["path", "bytes", "stream"]
    content_type: str
    label: str  # how messages name it: the path or name quoted, else what it is
    size: int | None

    @classmethod
    def check(
        cls, source: object, content_type: object, file_name: object, size: object
    ) -> _Upload:
        """Check a source and the arguments about it; nothing is read yet."""
        name = normalize_file_name(file_name)
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if isinstance(path, str) and not path.strip():
                raise InvalidInputError("source: the path is empty")
            label = repr(os.fsdecode(path))
            guessed = upload_content_type(content_type, name or os.path.basename(os.fsdecode(path)))
            _refuse_size(size, "a path")
            return cls(path, "path", guessed, label, None)
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            label = repr(name) if name else "the data"
            guessed = upload_content_type(content_type, name)
            _refuse_size(size, "bytes")
            check_upload_size(len(data), guessed, label)
            return cls(data, "bytes", guessed, label, len(data))
        if isinstance(source, AsyncIterable):
            label = repr(name) if name else "the stream"
            guessed = upload_content_type(content_type, name)
            if size is None:
                raise InvalidInputError(
                    "a stream needs size=, its length in bytes: it is checked against the "
                    "type's limit before anything is sent, and sent as Content-Length"
                )
            if isinstance(size, bool) or not isinstance(size, int):
                raise InvalidInputError(f"size must be an int, not {type(size).__name__}")
            check_upload_size(size, guessed, label)
            return cls(source, "stream", guessed, label, size)
        raise InvalidInputError(
            "source must be a path (str or os.PathLike), bytes, or an async iterable of "
            f"bytes, not {type(source).__name__}"
        )

    async def body(self) -> tuple[RequestContent, int]:
        """The request body and its length; a path is looked at (not read) here."""
        source = self.source
        if self.kind == "bytes":
            assert isinstance(source, bytes)
            return source, len(source)
        if self.kind == "stream":
            assert isinstance(source, AsyncIterable)
            assert self.size is not None
            return _exactly(source, self.size, self.label), self.size
        assert isinstance(source, (str, bytes))
        size = await anyio.to_thread.run_sync(_readable_size, source, self.label)
        check_upload_size(size, self.content_type, self.label)
        return _FileChunks(os.fsdecode(source), size, self.label), size


def _refuse_size(size: object, what: str) -> None:
    if size is not None:
        raise InvalidInputError(f"size= is for streams; the size of {what} is known")


def _readable_size(path: str | bytes, label: str) -> int:
    """The size of the regular file at ``path``, which must open for reading."""
    try:
        status = os.stat(path)
        # Not opened before it is known to be a file: opening a FIFO waits for a writer.
        if not stat.S_ISREG(status.st_mode):
            raise InvalidInputError(f"{label} is not a regular file")
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InvalidInputError(f"{label}: cannot read it ({exc.strerror})") from None
    return status.st_size


class _FileChunks:
    """The first ``size`` bytes of a file, read from disk afresh by each try of a request.

    The file must still hold exactly ``size`` bytes (the ``Content-Length`` sent): one that
    shrank or grew while it was read cuts the upload off with `InvalidInputError`.
    """

    __slots__ = ("_label", "_path", "_size")

    def __init__(self, path: str, size: int, label: str) -> None:
        self._path, self._size, self._label = path, size, label

    async def __aiter__(self) -> AsyncIterator[bytes]:
        file = await anyio.open_file(self._path, "rb")
        try:
            left = self._size
            while left:
                chunk = await file.read(min(_CHUNK, left))
                if not chunk:
                    raise InvalidInputError(
                        f"{self._label} shrank while it was uploaded "
                        f"({self._size:,} bytes were announced)"
                    )
                left -= len(chunk)
                if not left:
                    # Before the last chunk goes (a complete body would be stored), and closed
                    # then: a transport may stop reading once it has the announced length.
                    grew = await file.read(1)
                    await file.aclose()
                    if grew:
                        raise InvalidInputError(
                            f"{self._label} grew while it was uploaded "
                            f"({self._size:,} bytes were announced)"
                        )
                yield chunk
        finally:
            await file.aclose()


async def _exactly(stream: AsyncIterable[bytes], size: int, label: str) -> AsyncIterator[bytes]:
    """``stream``'s chunks, held to ``size`` bytes in all: no more, and no fewer.

    The chunk that completes ``size`` goes only once the stream has ended: a stream that goes
    on past it fails before the server has a complete body (which it would store).
    """
    got = 0
    last: bytes | None = None
    chunks = stream.__aiter__()
    try:
        async for chunk in chunks:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise InvalidInputError(f"{label} yielded a {type(chunk).__name__}, not bytes")
            if not chunk:
                continue
            got += len(chunk)
            if got > size:
                raise InvalidInputError(f"{label} gave more than the size={size:,} bytes announced")
            if got == size:
                last = bytes(chunk)
            else:
                yield bytes(chunk)
    finally:
        # A stream left part-way (cut off, cancelled) is closed, as `async for` would not.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    if last is None:
        raise InvalidInputError(f"{label} ended after {got:,} bytes; size= announced {size:,}")
    yield last
