"""The fake API's request parameters (query, path, JSON body), each checked like the service.

A parser raises `APIError` with the service's message when its parameter is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from starlette.requests import Request

from ._data import CONTENT_TYPES, FILE_TYPES, AccountData
from ._middleware import recorded_request
from ._responses import APIError, invalid_parameters
from ._state import ServerState

__all__ = [
    "account_in_path",
    "content_type_param",
    "json_object_body",
    "paginate",
    "parse_file_types",
    "parse_id_list",
    "parse_work_ids",
    "positive_int_param",
    "query_param",
    "requested_account",
]

_T = TypeVar("_T")
_DIGITS = re.compile(r"[0-9]+")
_POSITIVE_INT = re.compile(r"[0-9]{1,9}")


def query_param(request: Request, name: str) -> str | None:
    """The query parameter ``name``; None when it is absent or empty."""
    value = request.query_params.get(name)
    return value if value else None


def requested_account(
    request: Request, state: ServerState, *, required: bool = False
) -> AccountData:
    """The account the ``email`` parameter names; a lone account may be implied.

    The account's email goes into the request's log entry.
    """
    email = query_param(request, "email")
    accounts = state.dataset.accounts
    if email is None:
        if required:
            raise APIError(400, "Parameter email is required")
        if len(accounts) > 1:
            raise APIError(
                400, "Parameter email is required when more than one account is configured"
            )
        found = accounts[0]
    else:
        found = _known_account(state, email)
    _note_account(request, found)
    return found


def account_in_path(request: Request, state: ServerState) -> AccountData:
    """The account the ``{email}`` path parameter names, in any case; 404 when none does.

    The account's email goes into the request's log entry.
    """
    found = _known_account(state, request.path_params["email"])
    _note_account(request, found)
    return found


def _known_account(state: ServerState, email: str) -> AccountData:
    try:
        return state.dataset.account(email)
    except KeyError:
        raise APIError(404, f"Account {email} not found") from None


def _note_account(request: Request, account: AccountData) -> None:
    record = recorded_request(request.scope)
    if record is not None:
        record.email = account.email


def positive_int_param(request: Request, name: str, default: int) -> int:
    """The positive integer parameter ``name``, or ``default`` when absent."""
    value = query_param(request, name)
    if value is None:
        return default
    if not _POSITIVE_INT.fullmatch(value) or int(value) < 1:
        raise invalid_parameters(f"{name} must be a positive integer")
    return int(value)


def content_type_param(request: Request) -> str | None:
    """The ``contentType`` filter (video, image or audio, any case), lower-cased."""
    value = query_param(request, "contentType")
    if value is None:
        return None
    if value.lower() not in CONTENT_TYPES:
        raise invalid_parameters("contentType must be one of video, image, audio")
    return value.lower()


def _descending(request: Request) -> bool:
    value = query_param(request, "sort")
    if value is None:
        return True
    if value.lower() not in ("asc", "desc"):
        raise invalid_parameters("sort must be asc or desc")
    return value.lower() == "desc"


def paginate(items: Sequence[_T], request: Request, default_size: int) -> Sequence[_T]:
    """The page of ``items`` (newest first) that ``pageNum``, ``pageSize`` and ``sort`` ask for."""
    number = positive_int_param(request, "pageNum", 1)
    size = positive_int_param(request, "pageSize", default_size)
    if not _descending(request):
        items = items[::-1]
    start = (number - 1) * size
    return items[start : start + size]


def parse_file_types(raw: str | None) -> list[str] | None:
    """The distinct file types of a ``fileTypes`` list (MP4, MP3, WAV, PNG, any case), in order."""
    if raw is None:
        return None
    kinds: list[str] = []
    for part in raw.split(","):
        kind = part.strip().upper()
        if kind not in FILE_TYPES:
            raise APIError(
                400,
                f"Parameter fileTypes ({raw}) must be a comma-separated list of MP4, MP3, WAV, PNG",
            )
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def parse_id_list(raw: str | None, name: str, *, most: int | None = None) -> list[str]:
    """The distinct IDs of the comma-separated numeric list ``name``, in order.

    ``most`` limits how many may be given (repeats included).
    """
    parts = (raw or "").split(",")
    if not all(_DIGITS.fullmatch(part) for part in parts) or (
        most is not None and len(parts) > most
    ):
        limit = f"up to {most} " if most is not None else ""
        raise APIError(
            400,
            f"Parameter {name} ({raw or ''}) must be a numeric string or a comma-separated "
            f"list of {limit}numeric strings",
        )
    return list(dict.fromkeys(parts))


def parse_work_ids(raw: str | None) -> list[int]:
    """The distinct work IDs of a ``workIds`` list, in order."""
    return list(dict.fromkeys(int(part) for part in parse_id_list(raw, "workIds")))


async def json_object_body(request: Request) -> dict[str, Any]:
    """The request's body, a JSON object; an empty body is ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise APIError(400, "Body must be a JSON object")
    return body
