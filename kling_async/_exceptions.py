"""Every error kling_async raises, in one tree.

```
KlingError
├── InvalidInputError (also a ValueError)   bad arguments, caught before any request is sent
├── ClientClosedError (also a RuntimeError) a call on a client whose pool is closed
├── APIError                                something went wrong talking to the service
│   ├── APIStatusError                      the server answered with a non-2xx status
│   │   ├── BadRequestError                 400
│   │   ├── AuthenticationError             401
│   │   ├── PaymentRequiredError            402 ("Subscription required")
│   │   ├── NotFoundError                   404
│   │   │   └── TaskNotFoundError           404 "No works found for task N" (none left: gone)
│   │   ├── RateLimitError                  429 (on Kling: every account is at capacity)
│   │   ├── AccountError                    596 (the Kling account is in an error state)
│   │   ├── ServerError                     any other 5xx
│   │   └── CDNError                        a file download from the CDN answered non-2xx
│   ├── APIConnectionError                  no usable response: refused, reset, dropped
│   │   └── APITimeoutError                 a connect, read, write or pool timeout
│   ├── ResponseValidationError             a 2xx body that is not JSON or does not fit the model
│   └── OperationFailedError                a 2xx body that reports a failure (an upload's status)
├── BatchError                              one or more chunks of a batch call failed
└── ExportLockedError                       another export is writing the export folder
```

An `APIStatusError` with a status outside the list above (a 403, a 409, ...) is raised as
`APIStatusError` itself. None of these errors shows the API token: not in its message, its
``body``, or the headers of the ``request`` and ``response`` it carries (redacted copies).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from ._http import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AccountError",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "CDNError",
    "ClientClosedError",
    "ExportLockedError",
    "InvalidInputError",
    "KlingError",
    "NotFoundError",
    "OperationFailedError",
    "PaymentRequiredError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "TaskNotFoundError",
]


class KlingError(Exception):
    """Base class of every error kling_async raises."""


class InvalidInputError(KlingError, ValueError):
    """An argument is not valid; raised before any request is sent.

    It is a `ValueError` too, so code that already catches `ValueError` keeps working.
    """


class ClientClosedError(KlingError, RuntimeError):
    """A call was made on a `KlingClient` whose connection pool is closed.

    Raised before anything is sent. A client closes at the end of its ``async with`` block or
    on ``aclose()``; copies made by ``with_options()`` close with the client they came from.
    """


class ExportLockedError(KlingError):
    """Another export holds the export folder; this one changed nothing and stopped.

    Two exports must not write one folder at once. The lock is the operating system's, so a
    killed export releases it; the attributes say which export holds it, when it could tell.

    Attributes:
        lock_path: the lock file.
        pid: the process ID of the export holding it.
        host: the machine it runs on.
        started: when it started (aware, UTC).
    """

    def __init__(
        self,
        message: str,
        *,
        lock_path: Path,
        pid: int | None = None,
        host: str | None = None,
        started: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.lock_path = lock_path
        self.pid = pid
        self.host = host
        self.started = started


class APIError(KlingError):
    """Something went wrong while talking to the service.

    Attributes:
        request: the request that failed, when one was built.
        email: the account the call was for, when it named one.
        page_num: the page asked for, when the call fetched a page of a listing.

    """

    request: httpx.Request | None
    email: str | None = None
    page_num: int | None = None

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIStatusError(APIError):
    """The server answered with a status that is not 2xx.

    Attributes:
        status_code: the HTTP status.
        message: the server's own words (the body's ``"error"``), or the reason phrase.
        body: the decoded JSON body, the text when it is not JSON, or None when empty.
        response: a copy of the `httpx2.Response`, its body read (and decoded), with the token
            cut out of its body and headers, and its request's credentials replaced.

    """

    def __init__(self, message: str, *, response: httpx.Response, body: object) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.body = body

    def __str__(self) -> str:
        request = self.request
        where = f" ({request.method} {request.url.copy_with(query=None)})" if request else ""
        return f"{self.status_code} {self.message}{where}"


class BadRequestError(APIStatusError):
    """400: the server rejected the parameters."""


class AuthenticationError(APIStatusError):
    """401: the API token is missing, wrong or revoked."""


class PaymentRequiredError(APIStatusError):
    """402: the useapi.net subscription is not active."""


class NotFoundError(APIStatusError):
    """404: the element, work or account does not exist."""


class TaskNotFoundError(NotFoundError):
    """404 "No works found for task N": the account holds no works of that task.

    DELETE /tasks/{task_id} answers this for a task the account does not have and for one
    already deleted (so a repeated delete lands here); the service does not tell the two
    apart. `kling_async.batch.delete_tasks` counts it as "already gone". Any other 404 (an
    unknown account, say) stays a plain `NotFoundError`.

    Attributes:
        task_id: the task the server named, or None if its message names none.

    """

    @property
    def task_id(self) -> int | None:
        """The task the server's message names (``N``), or None."""
        found = _NO_WORKS.match(self.message)
        return int(found.group(1)) if found else None


class RateLimitError(APIStatusError):
    """429: on Kling this means every account of the subscription is at capacity.

    Attributes:
        retry_after: the server's Retry-After in seconds, when it sent one.

    """

    retry_after: float | None = None


class AccountError(APIStatusError):
    """596: the Kling account is in an error state; it has to be added again. Never retried."""


class ServerError(APIStatusError):
    """A 5xx other than 596: the service failed; usually worth retrying."""


class CDNError(APIStatusError):
    """A file download from the CDN answered with a status that is not 2xx.

    A 404 or 403 here means the file URL has expired or never existed, not that the work is
    missing: ask GET /assets/download for a fresh URL. 408, 429 and 5xx are retried like the
    API's. ``message`` is the reason phrase; ``body`` is None (a CDN's error page says nothing
    useful).
    """


class APIConnectionError(APIError):
    """No usable response arrived: the connection was refused, reset or dropped."""


class APITimeoutError(APIConnectionError):
    """A connect, read, write or connection-pool timeout expired."""


class ResponseValidationError(APIError):
    """A 2xx response whose body is not JSON, or does not fit the expected model.

    Attributes:
        path: where in the body the problem is, e.g. ``$.history[3].works[0].workId``;
            ``$`` for the body as a whole.
        response: a redacted copy of the `httpx2.Response`, when the body came from one.

    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "$",
        response: httpx.Response | None = None,
    ) -> None:
        request = None
        if response is not None:
            try:
                request = response.request
            except RuntimeError:  # a Response built by hand has no request
                request = None
        super().__init__(message, request=request)
        self.path = path
        self.response = response


class OperationFailedError(APIError):
    """A 2xx answer whose body reports that the operation failed.

    POST /assets answers 200 with a ``status`` in its body: 3 (an image) or 1 (a video) is a
    success; any other reports a failure, in the body's ``message``: the service says it did
    not take the file. Never retried.

    Attributes:
        message: what failed, with the server's own words.
        body: the decoded JSON body (redacted).
        response: a redacted copy of the `httpx2.Response`.

    """

    def __init__(self, message: str, *, response: httpx.Response, body: object) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.body = body

    def __str__(self) -> str:
        request = self.request
        where = f" ({request.method} {request.url.copy_with(query=None)})" if request else ""
        return f"{self.message}{where}"


class BatchError(KlingError):
    """One or more chunks of a batch call failed.

    Attributes:
        errors: every chunk's error, in input order.
        failed_ids: every ID whose chunk failed, typed as in the batch's result.

    """

    def __init__(
        self, message: str, *, errors: Sequence[BaseException], failed_ids: Sequence[int | str]
    ):
        super().__init__(message)
        self.errors = tuple(errors)
        self.failed_ids = tuple(failed_ids)


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    404: NotFoundError,
    429: RateLimitError,
    596: AccountError,
}


_NO_WORKS = re.compile(r"No works found for task ([0-9]+)\b")
"""The message of the 404 DELETE /tasks/{task_id} gives when the task has no works left."""


def error_class_for_status(status_code: int, message: str | None = None) -> type[APIStatusError]:
    """Return the `APIStatusError` subclass the SDK raises for ``status_code``.

    ``message`` (the body's ``"error"``) picks a narrower class where the service's words
    say more than the status: `TaskNotFoundError` for its "No works found for task N".
    """
    if status_code == 404 and message is not None and _NO_WORKS.match(message):
        return TaskNotFoundError
    cls = _STATUS_ERRORS.get(status_code)
    if cls is not None:
        return cls
    if 500 <= status_code <= 599:
        return ServerError
    return APIStatusError


def _describe_body(body: Any) -> str | None:
    """The server's message from an error body such as ``{"error": "..."}``.

    A text body gives its first 200 characters on one line; an HTML page (a proxy's or load
    balancer's error page) gives its ``<title>``, or nothing, never its markup.
    """
    if isinstance(body, dict):
        message = body.get("error") or body.get("message")
        if isinstance(message, str) and message:
            return message
    elif isinstance(body, str) and body.strip():
        text = body.strip()
        if text[:1] == "<":
            title = _HTML_TITLE.search(text)
            return " ".join(title.group(1).split())[:200] or None if title else None
        return " ".join(text.split())[:200]
    return None


_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
