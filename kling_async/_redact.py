"""Keeping the API token out of everything an error, a log line or the CLI shows.

The request core hands every error it raises a `Redactor`-made copy of the request (the
``Authorization`` header replaced) and of the response (the token cut out of its body), and
passes the server's message and body through `Redactor.text` and `Redactor.value`. The
exception that caused an error keeps its message but loses its traceback, whose frames (deep
in the HTTP library) hold the real headers as local variables.
"""

from __future__ import annotations

import re
from typing import Any

from ._http import httpx

__all__ = ["REDACTED", "TOKEN_SHAPE", "Redactor", "redact_text", "without_query"]

REDACTED = "***"
"""What stands in place of a token."""

TOKEN_SHAPE = re.compile(r"user:[0-9]+-[A-Za-z0-9]+")
"""Anything shaped like a useapi.net token (``user:<digits>-<alphanumerics>``)."""

_REDACTED_HEADER = {
    "authorization": f"Bearer {REDACTED}",
    "proxy-authorization": REDACTED,
    "cookie": REDACTED,
}
# Headers of a response body the copy no longer matches once the body is decoded and redacted.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def redact_text(text: str, *secrets: str | None) -> str:
    """``text`` with each secret, and anything shaped like a useapi.net token, as ``***``."""
    for secret in secrets:
        secret = (secret or "").strip()
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, REDACTED)
    return TOKEN_SHAPE.sub(REDACTED, text)


def without_query(url: str) -> str:
    """``url`` without its query and fragment (a CDN URL's signed parameters), for messages."""
    try:
        return str(httpx.URL(url).copy_with(query=None, fragment=None))
    except (httpx.InvalidURL, TypeError):
        return "the file URL"


class Redactor:
    """Removes one client's token from texts, decoded bodies, requests and responses."""

    __slots__ = ("_secrets",)

    def __init__(self, token: str) -> None:
        self._secrets = (token,)

    def text(self, text: str) -> str:
        """``text`` without the token (or anything shaped like one)."""
        return redact_text(text, *self._secrets)

    def value(self, value: Any) -> Any:
        """A decoded JSON value with every string in it redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def request(self, request: httpx.Request) -> httpx.Request:
        """A copy of ``request`` (method, URL, headers) with its credentials replaced."""
        headers = [
            (name, _REDACTED_HEADER.get(name.lower(), value))
            for name, value in request.headers.multi_items()
        ]
        url = httpx.URL(str(request.url))  # also a request of another httpx distribution
        if url.userinfo:
            url = url.copy_with(username=None, password=None)
        return httpx.Request(request.method, url, headers=headers)

    def response(self, response: httpx.Response) -> httpx.Response:
        """A copy of a read ``response`` whose request and body are redacted."""
        headers = [
            (name, self.text(value))
            for name, value in response.headers.multi_items()
            if name.lower() not in _BODY_HEADERS
        ]
        content = response.content
        if content:
            text = content.decode("utf-8", errors="replace")
            redacted = self.text(text)
            if redacted != text:
                content = redacted.encode()
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=content,
            request=self.request(response.request),
        )

    def cause(self, error: BaseException) -> BaseException:
        """Make ``error`` (an HTTP library's exception) safe to chain to an SDK error.

        Its request, and that of every exception chained to it, becomes a redacted copy, and
        the tracebacks go: their frames' local variables hold the request as it was sent.
        Messages and types stay.
        """
        seen: set[int] = set()
        stack: list[BaseException] = [error]
        while stack:
            exc = stack.pop()
            if id(exc) in seen:
                continue
            seen.add(id(exc))
            exc.__traceback__ = None
            try:  # httpx's and httpx2's errors carry the request as sent
                sent = exc.request  # type: ignore[attr-defined]
            except (AttributeError, RuntimeError):  # none, or not attached yet
                sent = None
            if sent is not None and hasattr(sent, "headers"):
                exc.request = self.request(sent)  # type: ignore[attr-defined]
            stack.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)
        return error
