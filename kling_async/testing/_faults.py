"""Scripted and random faults the fake server injects in place of normal answers."""

from __future__ import annotations

import collections
import datetime
import email.utils
import http
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast

import attrs
import orjson

__all__ = ["Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal["status", "hang", "malformed_json", "drop", "delay"]
_KINDS: tuple[str, ...] = ("status", "hang", "malformed_json", "drop", "delay")

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


def _api_method(method: str | None) -> str | None:
    return method.upper() if method is not None else None


@attrs.frozen
class Fault:
    """One injected misbehaviour. Build them with the classmethods, not the constructor.

    ``path`` limits the fault to requests whose path under ``/v1/kling`` starts with it
    (``"/assets"`` matches ``/assets``, ``/assets/uploaded`` and ``/assets/download``); a path
    starting with ``/_cdn`` targets the fake CDN instead. ``method`` limits it to one HTTP
    method. Without a path a fault matches every API request (never CDN downloads).

    Example::

        fake.add_faults(Fault.status(429, retry_after=2), Fault.drop(), path="/assets")
    """

    kind: FaultKind
    code: int | None = None
    retry_after: float | str | None = None
    body: Any = None
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
        path: str | None = None,
        method: str | None = None,
    ) -> Fault:
        """Answer with HTTP ``code`` and an error body.

        Args:
            code: the status, e.g. 429, 500, 503 or 596.
            retry_after: a ``Retry-After`` header: seconds (int or float), an HTTP-date string,
                or an aware datetime (sent as an HTTP-date). None sends no header.
            body: the body; a dict or list is sent as JSON, str or bytes as they are. By default
                ``{"error": "<message>"}``, plus ``"code"`` for 401 and 596 like the service.
            path: limits the fault to API paths starting with this (see `Fault`).
            method: limits the fault to this HTTP method.
        """
        if not 100 <= code <= 999:
            raise ValueError(f"invalid HTTP status {code}")
        if isinstance(retry_after, datetime.datetime):
            retry_after = email.utils.format_datetime(
                retry_after.astimezone(datetime.timezone.utc), usegmt=True
            )
        return cls(
            "status", code=code, retry_after=retry_after, body=body, path=path, method=method
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
        """Cut the connection in the middle of the response (a transport error for the client)."""
        return cls("drop", path=path, method=method)

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
        if self.path.startswith("/_cdn") == is_api:
            return False
        return path.startswith(self.path)

    def status_body(self) -> tuple[bytes, str]:
        """The body and content type a ``status`` fault answers with."""
        code = self.code or 500
        if self.body is None:
            message = _DEFAULT_MESSAGES.get(code)
            if message is None:
                try:
                    message = http.HTTPStatus(code).phrase
                except ValueError:
                    message = f"Error {code}"
            payload: dict[str, Any] = {"error": message}
            if code in (401, 596):
                payload["code"] = code
            return orjson.dumps(payload), "application/json"
        if isinstance(self.body, bytes):
            return self.body, "text/plain; charset=utf-8"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return orjson.dumps(self.body), "application/json"

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
        """A JSON-able description, the inverse of `from_dict`."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "status":
            out["code"] = self.code
            if self.retry_after is not None:
                out["retry_after"] = self.retry_after
            if self.body is not None:
                out["body"] = self.body.decode() if isinstance(self.body, bytes) else self.body
        if self.kind == "delay":
            out["seconds"] = self.seconds
        if self.path is not None:
            out["path"] = self.path
        if self.method is not None:
            out["method"] = self.method
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its JSON description (as the ``/_fake/config`` endpoint takes).

        Example: ``{"kind": "status", "code": 429, "retry_after": 2, "path": "/assets"}``.
        """
        kind = data.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(_KINDS)}, not {kind!r}")
        path, method = data.get("path"), data.get("method")
        if path is not None and not isinstance(path, str):
            raise ValueError("fault path must be a string")
        if method is not None and not isinstance(method, str):
            raise ValueError("fault method must be a string")
        if kind == "status":
            code = data.get("code", data.get("status"))
            if not isinstance(code, int) or isinstance(code, bool):
                raise ValueError("a status fault needs an integer code")
            retry_after = data.get("retry_after")
            if retry_after is not None and not isinstance(retry_after, (int, float, str)):
                raise ValueError("retry_after must be a number or a string")
            return cls.status(
                code, retry_after=retry_after, body=data.get("body"), path=path, method=method
            )
        if kind == "delay":
            seconds = data.get("seconds")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
                raise ValueError("a delay fault needs a number of seconds")
            return cls.delay(seconds, path=path, method=method)
        return cls(cast("FaultKind", kind), path=path, method=method)


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
        for fault in faults:
            if not isinstance(fault, Fault):
                raise TypeError(f"expected a Fault, got {type(fault).__name__}")
            if path is not None:
                fault = attrs.evolve(fault, path=path)
            if method is not None:
                fault = attrs.evolve(fault, method=method)
            self._script.append(fault)

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
        adjusted = []
        for fault in faults:
            if path is not None:
                fault = attrs.evolve(fault, path=path)
            if method is not None:
                fault = attrs.evolve(fault, method=method)
            adjusted.append(fault)
        self.rate = float(rate)
        self._random_faults = tuple(adjusted)
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
