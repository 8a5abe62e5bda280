"""The fake POST /assets: a raw file body, checked like the service, counted as it arrives.

The body is the file itself (not multipart, not JSON), typed by its ``Content-Type``. An
unsupported type is the service's documented 400. The service does not document what it
answers for a file over the size limit or an empty one; the fake answers 400 with its own
message, before reading the body when ``Content-Length`` already says it is too large, else as
soon as the bytes pass the limit. Bytes are counted and dropped as they arrive, so an upload of
any size holds no more than a chunk in memory. A stored file then shows in GET
/assets/uploaded, newest first.
"""

from __future__ import annotations

from contextlib import aclosing

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ._params import requested_account
from ._responses import APIError, json_response
from ._state import ServerState

__all__ = ["UPLOAD_TYPES", "upload_asset"]

_MB = 1024 * 1024

#: What the fake takes, as the service documents it: ``Content-Type`` -> (kind, extension of
#: the stored name, most bytes).
UPLOAD_TYPES: dict[str, tuple[str, str, int]] = {
    "image/png": ("image", "png", 10 * _MB),
    "image/jpeg": ("image", "jpg", 10 * _MB),
    "video/mp4": ("video", "mp4", 100 * _MB),
    "video/quicktime": ("video", "mov", 100 * _MB),
    "audio/wav": ("audio", "wav", 20 * _MB),
    "audio/wave": ("audio", "wav", 20 * _MB),
    "audio/mpeg": ("audio", "mp3", 20 * _MB),
    "audio/mp4": ("audio", "m4a", 20 * _MB),
    "audio/flac": ("audio", "flac", 20 * _MB),
    "audio/aac": ("audio", "aac", 20 * _MB),
    "audio/ogg": ("audio", "ogg", 20 * _MB),
}

# The body's ``status`` on success: 3 for an image, 1 for a video (documented); the service
# does not document audio's, and the fake answers 3, as for images (``url`` serves both).
_OK_STATUS = {"image": 3, "video": 1, "audio": 3}


async def upload_asset(request: Request, state: ServerState) -> Response:
    """POST /assets: store the file of the body for the account; answer where it now is."""
    account = requested_account(request, state)
    sent_type = request.headers.get("content-type", "")
    accepted = UPLOAD_TYPES.get(sent_type.strip())
    if accepted is None:
        raise APIError(
            400,
            f"Content-Type {sent_type} is not supported. Valid values: {','.join(UPLOAD_TYPES)}",
        )
    kind, extension, limit = accepted
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(sent_type, limit)
    size = 0
    try:
        async with aclosing(request.stream()) as chunks:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise _too_large(sent_type, limit)
    except ClientDisconnect:  # the client cut the body off: nothing is stored
        raise APIError(400, "The upload was cut off") from None
    if size == 0:
        raise APIError(400, "The file is empty")
    upload = account.add_upload(kind, extension, size)
    rendered = account.render_upload(upload)
    body = {
        "status": _OK_STATUS[kind],
        "url": rendered["resource"]["resource"],
        "message": "",
        "fileName": upload.name,
    }
    if kind == "video":
        body["resourceUrl"] = rendered["resource"]["resource"]
        body["coverUrl"] = rendered["cover"]["resource"]
    return json_response(body)


def _too_large(content_type: str, limit: int) -> APIError:
    return APIError(
        400, f"The file is too large: {content_type} files may be up to {limit // _MB}MB"
    )
