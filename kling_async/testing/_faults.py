"""Scripted and random faults the fake server injects in place of normal answers."""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime
import email.utils
import http
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast, get_args

import attrs
import orjson

from ._paths import CDN_ROOT

__all__ = ["Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal[
    "status", "hang", "malformed_json", "drop", "delay", "body", "truncated", "corrupt_gzip"
]
_KINDS: tuple[str, ...] = get_args(FaultKind)

_DEFAULT_MESSAGES = {
    400: "Invalid parameters",
    401: "Unauthorized",
    402: "Subscription required",
    404: "Not found",
    429: "All configured Kling accounts are busy, try again later",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
    596: "Kling account session was rejected, the account must be added again",
}
_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"


def _api_method(method: str | None) -> str | None:
    return method.upper() if method is not None else None


def _raw_text(payload: Any) -> Any:
    """Raw text bodies are kept as bytes, so a fault equals its `Fault.from_dict` copy."""
    return payload.encode() if isinstance(payload, str) else payload


def encode_json(payload: Any) -> bytes:
    """``payload`` as compact JSON: orjson, or the standard library for integers beyond 64 bits."""
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError:
        # orjson stops at 64-bit integers; bodies with bigger IDs are worth sending too.
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _check_payload(payload: Any) -> None:
    if payload is None or isinstance(payload, (bytes, str)):
        return
    try:
        encode_json(payload)
    except (TypeError, ValueError) as error:
        raise ValueError(f"a fault body must be JSON-able, bytes or str: {error}") from None


def _check_code(code: int) -> int:
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 999:
        raise ValueError(f"invalid HTTP status {code!r}")
    return code


def _check_content_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    if (
        not isinstance(content_type, str)
        or not content_type
        or not content_type.isascii()
        or not content_type.isprintable()
    ):
        raise ValueError(f"content_type must be a printable ASCII string, not {content_type!r}")
    return content_type


@attrs.frozen
class Fault:
    """One injected misbehaviour. Build them with the classmethods, not the constructor.

    ``path`` limits the fault to requests whose path under ``/v1/kling`` starts with it
    (``"/assets"`` matches ``/assets``, ``/assets/uploaded`` and ``/assets/download``); a path
    starting with ``/_cdn`` targets the fake CDN instead. ``method`` limits it to one HTTP
    method. Without a path a fault matches every API request (never CDN downloads).

    Example::

        fake.add_faults(Fault.status(429, retry_after=2), Fault.drop(), path="/assets")

    Attributes:
        kind: what the fault does: the name of the classmethod that built it (``"status"``,
            ``"drop"``, ...).
        code: the status a ``status``, ``body`` or ``corrupt_gzip`` fault answers with.
        retry_after: the ``Retry-After`` of a ``status`` fault (seconds or an HTTP-date).
        payload: the body of a ``status`` or ``body`` fault: JSON-able data, or bytes sent
            as they are (a str is kept as its UTF-8 bytes); None for a ``status`` fault's
            default error body.
        content_type: the ``Content-Type`` of a ``status`` or ``body`` fault's body; None
            picks one from the payload.
        seconds: how long a ``delay`` fault waits.
        path: the path prefix the fault is limited to, if any.
        method: the HTTP method the fault is limited to, if any (upper-cased).
    """

    kind: FaultKind
    code: int | None = None
    retry_after: float | str | None = None
    payload: Any = attrs.field(default=None, converter=_raw_text)
    content_type: str | None = None
    seconds: float = 0.0
    path: str | None = None
    method: str | None = attrs.field(default=None, converter=_api_method)

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: float | str | datetime.datetime | None = None,
        body: Any = None,
        *,
        content_type: str | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        """Answer with HTTP ``code`` and an error body.

        Example: an HTML error page from a proxy in front of the service::

            Fault.status(502, body="<html><body><h1>502 Bad Gateway</h1></body></html>",
                         content_type="text/html")

        Args:
            code: the status, e.g. 429, 500, 503 or 596.
            retry_after: a ``Retry-After`` header: seconds (int or float), an HTTP-date string,
                or an aware datetime (sent as an HTTP-date). None sends no header.
            body: the body; a dict or list is sent as JSON, str or bytes as they are (``b""``
                sends an empty body, with no ``Content-Type`` unless one is given). By default
                ``{"error": "<message>"}``, plus ``"code"`` for 401 and 596 like the service.
            content_type: the ``Content-Type`` header; by default ``application/json`` for
                JSON and ``text/plain; charset=utf-8`` for str or bytes.
            path: limits the fault to API paths starting with this (see `Fault`).
            method: limits the fault to this HTTP method.
        """
        _check_code(code)
        _check_payload(body)
        if isinstance(retry_after, datetime.datetime):
            retry_after = email.utils.format_datetime(
                retry_after.astimezone(datetime.timezone.utc), usegmt=True
            )
        return cls(
            "status",
            code=code,
            retry_after=retry_after,
            payload=body,
            content_type=_check_content_type(content_type),
            path=path,
            method=method,
        )

    @classmethod
    def body(
        cls,
        payload: Any,
        *,
        status: int = 200,
        content_type: str | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        """Answer with exactly this body instead of the real one, e.g. wrong types in a 200.

        Example::

            Fault.body({"history": [{"works": [{"workId": "not-a-number"}]}]})

        Args:
            payload: the body; JSON-able data (a dict, list, number, bool or None) is sent as
                JSON, str or bytes as they are.
            status: the HTTP status.
            content_type: the ``Content-Type`` header; by default ``application/json`` for
                JSON and ``text/plain; charset=utf-8`` for str or bytes (none for an empty
                body).
            path: limits the fault to API paths starting with this (see `Fault`).
            method: limits the fault to this HTTP method.
        """
        _check_code(status)
        _check_payload(payload)
        return cls(
            "body",
            code=status,
            payload=payload,
            content_type=_check_content_type(content_type),
            path=path,
            method=method,
        )

    @classmethod
    def hang(cls, *, path: str | None = None, method: str | None = None) -> Fault:
        """Never answer: the request stays open until the client gives up or the server stops."""
        return cls("hang", path=path, method=method)

    @classmethod
    def malformed_json(cls, *, path: str | None = None, method: str | None = None) -> Fault:
        """Answer 200 with a JSON content type but a body that is not valid JSON."""
        return cls("malformed_json", path=path, method=method)

    @classmethod
    def drop(cls, *, path: str | None = None, method: str | None = None) -> Fault:
        """Cut the connection in the middle of the response (a transport error for the client).

        The client gets a 200 status line promising 4096 bytes of JSON, a few made-up bytes
        of it, then the connection closes.
        """
        return cls("drop", path=path, method=method)

    @classmethod
    def truncated(cls, *, path: str | None = None, method: str | None = None) -> Fault:
        """Send the real response's status and headers and half its body, then close.

        The request is handled normally (auth included); its ``Content-Length`` announces the
        whole body but only the first half is sent, so the client sees a truncated body
        (httpx raises `httpx.RemoteProtocolError`). Unlike `drop`, the bytes that do arrive
        are the real ones, e.g. the start of a real assets page or CDN file.
        """
        return cls("truncated", path=path, method=method)

    @classmethod
    def corrupt_gzip(
        cls, status: int = 200, *, path: str | None = None, method: str | None = None
    ) -> Fault:
        """Answer with ``Content-Encoding: gzip`` and a body that is not gzip data.

        The ``Content-Length`` is right, so the response arrives whole but cannot be decoded
        (httpx raises `httpx.DecodingError` reading it).

        Args:
            status: the HTTP status.
            path: limits the fault to API paths starting with this (see `Fault`).
            method: limits the fault to this HTTP method.
        """
        _check_code(status)
        return cls("corrupt_gzip", code=status, path=path, method=method)

    @classmethod
    def delay(cls, seconds: float, *, path: str | None = None, method: str | None = None) -> Fault:
        """Wait ``seconds`` more, then answer normally."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        return cls("delay", seconds=float(seconds), path=path, method=method)

    def matches(self, method: str, path: str, *, is_api: bool) -> bool:
        """Whether this fault applies to a request.

        ``path`` is the path under ``/v1/kling`` for API requests, the full path otherwise.
        """
        if self.method is not None and self.method != method.upper():
            return False
        if self.path is None:
            return is_api
        if self.path.startswith(CDN_ROOT) == is_api:
            return False
        return path.startswith(self.path)

    def status_body(self) -> tuple[bytes, str | None]:
        """The body and ``Content-Type`` a ``status`` or ``body`` fault answers with.

        The content type is None (no header) for an empty raw body without a ``content_type``.
        """
        payload = self.payload
        if self.kind == "status" and payload is None:
            code = self.code or 500
            message = _DEFAULT_MESSAGES.get(code)
            if message is None:
                try:
                    message = http.HTTPStatus(code).phrase
                except ValueError:
                    message = f"Error {code}"
            error: dict[str, Any] = {"error": message}
            if code in (401, 596):
                error["code"] = code
            return orjson.dumps(error), self.content_type or _JSON
        if isinstance(payload, bytes):
            return payload, self.content_type or (_TEXT if payload else None)
        return encode_json(payload), self.content_type or _JSON

    def retry_after_header(self) -> str | None:
        """The ``Retry-After`` header value, or None."""
        value = self.retry_after
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if float(value).is_integer():
            return str(int(value))
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description, the inverse of `from_dict`.

        Raw bytes bodies appear as ``"body"`` text when they are UTF-8, else as
        ``"body_base64"``.
        """
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "status":
            out["code"] = self.code
            if self.retry_after is not None:
                out["retry_after"] = self.retry_after
            if self.payload is not None:
                out.update(_body_to_dict(self.payload))
        elif self.kind == "body":
            out["status"] = self.code
            out.update(_body_to_dict(self.payload))
        elif self.kind == "corrupt_gzip":
            out["status"] = self.code
        elif self.kind == "delay":
            out["seconds"] = self.seconds
        if self.content_type is not None:
            out["content_type"] = self.content_type
        if self.path is not None:
            out["path"] = self.path
        if self.method is not None:
            out["method"] = self.method
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its JSON description (as the ``/_fake/config`` endpoint takes).

        Examples: ``{"kind": "status", "code": 429, "retry_after": 2, "path": "/assets"}``,
        ``{"kind": "status", "code": 502, "body": "<html></html>", "content_type":
        "text/html"}``, ``{"kind": "body", "body": {"history": []}, "status": 200}``,
        ``{"kind": "truncated"}``, ``{"kind": "corrupt_gzip", "status": 500}``. A raw body
        may be given as ``"body_base64"`` instead of ``"body"``.
        """
        kind = data.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(_KINDS)}, not {kind!r}")
        path, method = data.get("path"), data.get("method")
        if path is not None and not isinstance(path, str):
            raise ValueError("fault path must be a string")
        if method is not None and not isinstance(method, str):
            raise ValueError("fault method must be a string")
        content_type = data.get("content_type")
        if content_type is not None and not isinstance(content_type, str):
            raise ValueError("content_type must be a string")
        if kind == "status":
            code = data.get("code", data.get("status"))
            if not isinstance(code, int) or isinstance(code, bool):
                raise ValueError("a status fault needs an integer code")
            retry_after = data.get("retry_after")
            if retry_after is not None and not isinstance(retry_after, (int, float, str)):
                raise ValueError("retry_after must be a number or a string")
            return cls.status(
                code,
                retry_after=retry_after,
                body=_body_from_dict(data),
                content_type=content_type,
                path=path,
                method=method,
            )
        if kind == "body":
            if "body" not in data and "body_base64" not in data:
                raise ValueError("a body fault needs a body (or body_base64)")
            return cls.body(
                _body_from_dict(data),
                status=_status_from_dict(data),
                content_type=content_type,
                path=path,
                method=method,
            )
        if kind == "corrupt_gzip":
            return cls.corrupt_gzip(_status_from_dict(data), path=path, method=method)
        if kind == "delay":
            seconds = data.get("seconds")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
                raise ValueError("a delay fault needs a number of seconds")
            return cls.delay(seconds, path=path, method=method)
        return cls(cast("FaultKind", kind), path=path, method=method)


def _body_to_dict(payload: Any) -> dict[str, Any]:
    if isinstance(payload, bytes):
        try:
            return {"body": payload.decode()}
        except UnicodeDecodeError:
            return {"body_base64": base64.b64encode(payload).decode("ascii")}
    return {"body": payload}


def _body_from_dict(data: Mapping[str, Any]) -> Any:
    encoded = data.get("body_base64")
    if encoded is None:
        return data.get("body")
    if isinstance(encoded, str):
        with contextlib.suppress(ValueError):  # binascii.Error, or not ASCII
            return base64.b64decode(encoded, validate=True)
    raise ValueError("body_base64 must be a base64 string")


def _status_from_dict(data: Mapping[str, Any]) -> int:
    code = data.get("status", data.get("code", 200))
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    raise ValueError(f"a {data.get('kind')} fault's status must be an integer")


class FaultPlan:
    """The faults pending on a server: a FIFO script first, then a random rate."""

    def __init__(self) -> None:
        self._script: collections.deque[Fault] = collections.deque()
        self.rate = 0.0
        self._random_faults: tuple[Fault, ...] = ()
        self._rng = random.Random(0)

    @property
    def pending(self) -> tuple[Fault, ...]:
        """Scripted faults not consumed yet, in order."""
        return tuple(self._script)

    @property
    def random_faults(self) -> tuple[Fault, ...]:
        """The faults drawn from at ``rate``."""
        return self._random_faults

    def add(self, faults: Iterable[Fault], *, path: str | None, method: str | None) -> None:
        """Queue faults; ``path``/``method``, when given, replace each fault's own."""
        self._script.extend(_scoped(faults, path=path, method=method))

    def set_rate(
        self,
        rate: float,
        faults: Sequence[Fault],
        *,
        seed: int,
        path: str | None,
        method: str | None,
    ) -> None:
        """Inject one of ``faults`` (uniformly) into a ``rate`` fraction of matching requests."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if rate > 0 and not faults:
            raise ValueError("a positive rate needs at least one fault")
        self.rate = float(rate)
        self._random_faults = _scoped(faults, path=path, method=method)
        self._rng = random.Random(seed)

    def clear(self) -> None:
        """Forget every scripted and random fault."""
        self._script.clear()
        self.rate = 0.0
        self._random_faults = ()

    def take(self, method: str, path: str, *, is_api: bool) -> Fault | None:
        """The fault to apply to this request, if any (consuming a scripted one)."""
        for fault in self._script:
            if fault.matches(method, path, is_api=is_api):
                self._script.remove(fault)
                return fault
        if self.rate > 0:
            candidates = [f for f in self._random_faults if f.matches(method, path, is_api=is_api)]
            if candidates and self._rng.random() < self.rate:
                return self._rng.choice(candidates)
        return None


def _scoped(faults: Iterable[Fault], *, path: str | None, method: str | None) -> tuple[Fault, ...]:
    """``faults`` with ``path`` and ``method``, where given, in place of their own."""
    scoped: list[Fault] = []
    for fault in faults:
        if not isinstance(fault, Fault):
            raise TypeError(f"expected a Fault, got {type(fault).__name__}")
        if path is not None:
            fault = attrs.evolve(fault, path=path)
        if method is not None:
            fault = attrs.evolve(fault, method=method)
        scoped.append(fault)
    return tuple(scoped)
