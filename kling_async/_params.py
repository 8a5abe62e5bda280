"""Checking and normalising call arguments, before any request is sent.

Every function here either returns the value in the form sent on the wire or raises
`InvalidInputError` saying which argument is wrong and why.
"""

from __future__ import annotations

import contextlib
import enum
import mimetypes
import posixpath
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Literal
from urllib.parse import quote

from ._exceptions import InvalidInputError
from ._types import ContentType, FileType

__all__ = [
    "MAX_DELETE_IDS",
    "MAX_ID_DIGITS",
    "MAX_INT",
    "UPLOAD_LIMITS",
    "canonical_id",
    "check_upload_size",
    "normalize_content_type",
    "normalize_email",
    "normalize_emails",
    "normalize_file_name",
    "normalize_file_type",
    "normalize_file_types",
    "check_bool",
    "normalize_flag",
    "normalize_id",
    "normalize_ids",
    "normalize_sort",
    "normalize_tag",
    "normalize_timestamp",
    "path_segment",
    "positive_int",
    "shown",
    "upload_content_type",
]

MAX_DELETE_IDS = 10
"""The most IDs DELETE /assets/uploaded takes in one call."""

MAX_ID_DIGITS = 40
"""The most digits an ID may have (Kling's IDs have up to 20; 40 leaves room)."""

MAX_INT = 2**31 - 1
"""The largest page number, page size, count or concurrency an argument may be."""

_MB = 1024 * 1024

UPLOAD_LIMITS: Mapping[str, int] = MappingProxyType(
    {
        "image/png": 10 * _MB,
        "image/jpeg": 10 * _MB,
        "video/mp4": 100 * _MB,
        "video/quicktime": 100 * _MB,
        "audio/wav": 20 * _MB,
        "audio/wave": 20 * _MB,
        "audio/mpeg": 20 * _MB,
        "audio/mp4": 20 * _MB,
        "audio/flac": 20 * _MB,
        "audio/aac": 20 * _MB,
        "audio/ogg": 20 * _MB,
    }
)
"""The content types POST /assets accepts, each with the largest file it takes, in bytes.

Images up to 10 MB, videos 100 MB, audio 20 MB, as the service documents them; a MB is taken
as 2**20 bytes (the service does not say which). Its other limits (an image's 300 px, a video's
10 s, 720p or 1080p, audio's 30 s) need the file decoded: the service checks them, not the SDK.
"""

# The documented extensions, so a guess does not depend on the system's MIME tables.
_UPLOAD_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".flac": "audio/flac",
    ".aac": "audio/aac",
    ".ogg": "audio/ogg",
}
# Other spellings of accepted types (MIME tables differ between systems).
_UPLOAD_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/x-flac": "audio/flac",
    "audio/x-aac": "audio/aac",
}

_DIGITS = re.compile(r"[0-9]+")
_ID_LIMIT = 10**MAX_ID_DIGITS
_FILE_TYPES = {member.value: member.value for member in FileType}
_CONTENT_TYPES = {member.value: member.value for member in ContentType}


def shown(value: object) -> str:
    """``repr(value)`` for an error message, shortened: huge ints and long strings are cut."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "an int of more than 30 digits"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...{text[-15:]}"


def canonical_id(text: str) -> str | None:
    """The canonical form of a numeric ID string (spaces and leading zeros gone), else None.

    Only ASCII digits count, and at most `MAX_ID_DIGITS` of them (leading zeros aside).
    """
    stripped = text.strip()
    if not _DIGITS.fullmatch(stripped):
        return None
    canonical = stripped.lstrip("0") or "0"  # no int(): it refuses over 4,300 digits
    return canonical if len(canonical) <= MAX_ID_DIGITS else None


def _one_id(value: object, name: str) -> str:
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: {shown(value)} is not an ID (IDs are numbers)")
    if isinstance(value, int):
        if not 0 <= value < _ID_LIMIT:
            raise InvalidInputError(
                f"{name}: an ID is a non-negative number of at most {MAX_ID_DIGITS} digits"
            )
        return str(value)
    if isinstance(value, str):
        canonical = canonical_id(value)
        if canonical is not None:
            return canonical
        raise InvalidInputError(
            f"{name}: {shown(value)} is not a numeric ID (ASCII digits, at most {MAX_ID_DIGITS})"
        )
    raise InvalidInputError(
        f"{name}: {shown(value)} is a {type(value).__name__}; IDs are ints or numeric strings"
    )


def normalize_ids(
    ids: Iterable[int | str] | int | str, *, name: str, max_count: int | None = None
) -> tuple[str, ...]:
    """Return the IDs as canonical numeric strings, duplicates removed, first occurrence kept.

    ``ids`` is any iterable of ints or numeric strings; a single int or numeric string is taken
    as one ID. Raises `InvalidInputError` when there are none, when one is not a non-negative
    number, or when there are more than ``max_count``.
    """
    if isinstance(ids, (int, str)):
        values: Iterable[object] = (ids,)
    elif isinstance(ids, (bytes, bytearray, memoryview, Mapping)) or not isinstance(ids, Iterable):
        raise InvalidInputError(
            f"{name} must be an iterable of ints or numeric strings, not {type(ids).__name__}"
        )
    else:
        values = ids
    normalized = tuple(dict.fromkeys(_one_id(value, name) for value in values))
    if not normalized:
        raise InvalidInputError(f"{name} is empty: pass at least one ID")
    if max_count is not None and len(normalized) > max_count:
        raise InvalidInputError(
            f"{name} has {len(normalized)} IDs; this endpoint takes at most {max_count} "
            "(kling_async.batch splits longer lists into chunks)"
        )
    return normalized


def normalize_id(value: object, name: str) -> int:
    """Return one numeric ID (an int, or a numeric string such as ``" 0042"``) as an int.

    Raises `InvalidInputError` for anything else: a bool, a negative number, a string that is
    not ASCII digits, a collection of IDs.
    """
    return int(_one_id(value, name))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last moment a datetime holds
_ONE_MS = timedelta(milliseconds=1)


def normalize_timestamp(value: object, name: str, *, round_up: bool = False) -> int | None:
    """Return a moment as milliseconds since the Unix epoch (None when not given).

    ``value`` is a `datetime` (a naive one is UTC) or an int of milliseconds. A datetime
    between two milliseconds goes to the earlier one, or with ``round_up`` the later one: an
    exclusive "before" bound rounds up and an exclusive "after" bound down, so that neither
    leaves out a moment inside the range.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        elapsed = moment - _EPOCH
        milliseconds, rest = divmod(elapsed, _ONE_MS)
        milliseconds += 1 if round_up and rest else 0
    elif isinstance(value, int) and not isinstance(value, bool):
        milliseconds = value
    else:
        raise InvalidInputError(
            f"{name} must be a datetime or an int of milliseconds since the epoch, "
            f"not {type(value).__name__}"
        )
    if not 0 <= milliseconds <= _MAX_MS:
        raise InvalidInputError(
            f"{name} must be a moment from 1970 to 9999 (ms 0 to {_MAX_MS}), not {shown(value)}"
        )
    return int(milliseconds)


def normalize_email(email: object) -> str | None:
    """Return the account email stripped of spaces, None when not given; reject blank values."""
    if email is None:
        return None
    if not isinstance(email, str):
        raise InvalidInputError(f"email must be a string, not {type(email).__name__}")
    text = email.strip()
    if not text:
        raise InvalidInputError("email is empty; pass None to use the client's default account")
    if "@" not in text or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidInputError(f"email {shown(email)} is not an email address")
    return text


def normalize_emails(emails: object, *, name: str = "emails") -> tuple[str, ...] | None:
    """Return several accounts' emails, each once; None when not given.

    A single string is one account. Emails compare without regard to case, as the service
    does; the first spelling is kept. Raises `InvalidInputError` for an empty collection, a
    value that is not a string, or a string that is not an email address.
    """
    if emails is None:
        return None
    values: Iterable[object]
    if isinstance(emails, str):
        values = (emails,)
    elif isinstance(emails, Iterable) and not isinstance(emails, (bytes, bytearray, Mapping)):
        values = emails
    else:
        raise InvalidInputError(
            f"{name} must be an email, a list of emails, or None, not {type(emails).__name__}"
        )
    accounts: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise InvalidInputError(f"{name}: {shown(value)} is not an email address")
        email = normalize_email(value)
        assert email is not None  # a str never normalises to None
        accounts.setdefault(email.casefold(), email)
    if not accounts:
        raise InvalidInputError(f"{name} is empty; pass None for the client's default account")
    return tuple(accounts.values())


def _choice(value: object, name: str, choices: dict[str, str], fold: str) -> str:
    raw = value.value if isinstance(value, enum.Enum) else value
    if isinstance(raw, str):
        key = raw.strip().upper() if fold == "upper" else raw.strip().lower()
        if key in choices:
            return choices[key]
    allowed = ", ".join(choices)
    raise InvalidInputError(f"{name}: {shown(value)} is not one of {allowed}")


def normalize_file_types(
    file_types: Iterable[FileType | str] | FileType | str | None,
) -> tuple[str, ...] | None:
    """Return file types as upper-case wire values (None when not given); reject unknown ones."""
    if file_types is None:
        return None
    values: Iterable[object] = (
        (file_types,) if isinstance(file_types, (str, enum.Enum)) else file_types
    )
    if not isinstance(values, Iterable):
        raise InvalidInputError(f"file_types must be strings or FileType, not {shown(values)}")
    result = tuple(dict.fromkeys(_choice(v, "file_types", _FILE_TYPES, "upper") for v in values))
    if not result:
        raise InvalidInputError("file_types is empty; pass None to get every file type")
    return result


def normalize_file_type(file_type: object) -> FileType | None:
    """Return one file type (None when not given); reject unknown values and collections."""
    if file_type is None:
        return None
    if isinstance(file_type, (str, enum.Enum)):
        with contextlib.suppress(InvalidInputError):
            return FileType(_choice(file_type, "file_type", _FILE_TYPES, "upper"))
    choices = ", ".join(_FILE_TYPES)
    raise InvalidInputError(
        f"file_type must be one file type ({choices}), or None to choose by content type; "
        f"not {shown(file_type)}"
    )


def normalize_content_type(content_type: ContentType | str | None) -> str | None:
    """Return the content type as its wire value (None when not given); reject unknown ones."""
    if content_type is None:
        return None
    return _choice(content_type, "content_type", _CONTENT_TYPES, "lower")


def normalize_sort(sort: object) -> Literal["asc", "desc"] | None:
    """Return the listing order as its wire value (None when not given), in any case."""
    if sort is None:
        return None
    key = sort.strip().lower() if isinstance(sort, str) else None
    if key == "asc":
        return "asc"
    if key == "desc":
        return "desc"
    raise InvalidInputError(f"sort must be 'asc' or 'desc', not {shown(sort)}")


def positive_int(value: object, name: str, *, most: int = MAX_INT) -> int:
    """Return ``value`` when it is an int from 1 to ``most`` (page numbers, sizes, counts).

    ``most`` is `MAX_INT` unless the endpoint takes less (GET /elements: pages of up to 100).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= most:
        raise InvalidInputError(f"{name} must be from 1 to {most}, not {shown(value)}")
    return value


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` when it is True or False; raise `InvalidInputError` for anything else."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, not {shown(value)}")
    return value


def normalize_flag(value: object, name: str) -> Literal["true", "false"] | None:
    """Return a yes/no filter as its wire value (None when not given); only bools are taken."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True, False or None, not {shown(value)}")
    return "true" if value else "false"


def normalize_tag(tag: object) -> str | None:
    """Return a tag filter (None when not given): a non-blank string or a non-negative int."""
    if tag is None:
        return None
    if isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag <= MAX_INT:
        return str(tag)
    if isinstance(tag, str) and tag.strip():
        return tag.strip()
    raise InvalidInputError(f"tag must be a non-blank string or a tag ID, not {shown(tag)}")


def normalize_file_name(file_name: object) -> str | None:
    """Return the file-name filter (None when not given); reject non-strings and blank strings."""
    if file_name is None:
        return None
    if not isinstance(file_name, str) or not file_name.strip():
        raise InvalidInputError(f"file_name must be a non-blank string, not {shown(file_name)}")
    return file_name


def upload_content_type(content_type: object, file_name: str | None) -> str:
    """Return the MIME type to upload a file as: ``content_type``, else guessed from ``file_name``.

    The type is lower-cased, without parameters (``; charset=...``), and other spellings of an
    accepted type become the accepted one (``audio/x-wav`` is sent as ``audio/wav``). A guess
    reads the extension: the documented ones first (``.png``, ``.jpg``, ``.mov``, ``.m4a``,
    ...), then the system's MIME table. Raises `InvalidInputError` for a type POST /assets
    does not take (see `UPLOAD_LIMITS`), or when there is no type and no name to guess from.
    """
    accepted = ", ".join(UPLOAD_LIMITS)
    if content_type is not None:
        if not isinstance(content_type, str):
            raise InvalidInputError(
                f"content_type must be a MIME type string, not {type(content_type).__name__}"
            )
        wanted = content_type.split(";", 1)[0].strip().lower()
        wanted = _UPLOAD_ALIASES.get(wanted, wanted)
        if wanted not in UPLOAD_LIMITS:
            raise InvalidInputError(
                f"content_type {shown(content_type)} is not one POST /assets takes: {accepted}"
            )
        return wanted
    if file_name is None:
        raise InvalidInputError(
            "no content type: pass content_type=, or file_name= to guess it from the extension"
        )
    extension = posixpath.splitext(file_name.replace("\\", "/"))[1].lower()
    guessed = _UPLOAD_EXTENSIONS.get(extension) or mimetypes.guess_type("x" + extension)[0]
    guessed = _UPLOAD_ALIASES.get(guessed or "", guessed)
    if guessed is None or guessed not in UPLOAD_LIMITS:
        kind = f"{extension} files" if extension else "a name without an extension"
        found = f" ({guessed})" if guessed else ""
        raise InvalidInputError(
            f"{shown(file_name)}: POST /assets does not take {kind}{found}; it takes {accepted} "
            "(pass content_type= when the extension is misleading)"
        )
    return guessed


def check_upload_size(size: int, content_type: str, what: str) -> int:
    """Return ``size`` when a file of ``content_type`` that big can be uploaded.

    Raises `InvalidInputError`, naming ``what`` (the file), for an empty file or one over the
    type's limit in `UPLOAD_LIMITS`.
    """
    if size <= 0:
        raise InvalidInputError(f"{what} is empty: there is nothing to upload")
    limit = UPLOAD_LIMITS[content_type]
    if size > limit:
        raise InvalidInputError(
            f"{what} is {size:,} bytes ({size / _MB:.1f} MB); POST /assets takes {content_type} "
            f"files of up to {limit // _MB} MB ({limit:,} bytes)"
        )
    return size


def path_segment(value: object, name: str) -> str:
    """Percent-encode ``value`` as exactly one URL path segment.

    ``/``, ``?``, ``#`` and ``%`` are encoded, so no value can change the path or add a query;
    ``.`` and ``..`` (which URL normalisation would collapse) and blank values are rejected.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, not {type(value).__name__}")
    text = value.strip()
    if not text or text in {".", ".."}:
        raise InvalidInputError(f"{name} {shown(value)} is not a valid ID")
    return quote(text, safe="")
