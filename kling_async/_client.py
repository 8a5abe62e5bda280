"""`KlingClient`, and the one request core that every endpoint goes through."""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast, get_args

import anyio
import attrs
import orjson

from ._converter import Decoder, decode_body
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    CDNError,
    ClientClosedError,
    InvalidInputError,
    KlingError,
    OperationFailedError,
    RateLimitError,
    ResponseValidationError,
    _describe_body,
    error_class_for_status,
)
from ._http import (
    AIOHTTP_NEEDS_ASYNCIO,
    HTTP_LIBRARY,
    AnyAsyncClient,
    AnyLimits,
    HTTPBackend,
    build_client,
    foreign_limits,
    foreign_timeout,
    httpx,
    library_of,
    on_asyncio,
)
from ._params import normalize_email, shown
from ._redact import Redactor, without_query
from ._resources import (
    AccountsResource,
    AssetsResource,
    ElementsResource,
    SchedulerResource,
    TasksResource,
    UploadsResource,
)
from ._resources._base import RequestContent
from ._retry import RetryPolicy, parse_retry_after
from ._types import NOT_GIVEN, CallContext, NotGiven, TimeoutTypes
from ._version import __version__

__all__ = ["CDN_TIMEOUT", "DEFAULT_BASE_URL", "DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "KlingClient"]

T = TypeVar("T")
E = TypeVar("E", bound=APIError)

DEFAULT_BASE_URL = "https://api.useapi.net/v1/kling"
"""The API root used when neither ``base_url=`` nor ``USEAPI_BASE_URL`` is set."""

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
"""Connect within 5 s; 60 s for each read, write and wait for a pooled connection."""

DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
"""The connection pool of a client the SDK builds itself (batch concurrency stays within it)."""

CDN_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)
"""File downloads: 10 s to connect, 60 s for each read and write, no limit on waiting for a slot."""

logger = logging.getLogger("kling_async")
_USER_AGENT = f"kling-async/{__version__} httpx2/{httpx.__version__}"


class KlingClient:
    """An async client for useapi.net's Kling API: one per application, shared by every task.

    Use it as ``async with KlingClient() as client:`` or keep one for the app's lifetime and
    ``await client.aclose()`` at shutdown. Endpoints live on namespaces: `assets`, `uploads`,
    `elements`, `accounts`, `scheduler`, `tasks`.

    Args:
        token: the useapi.net API token; defaults to the ``USEAPI_TOKEN`` environment variable.
            It is sent as ``Authorization: Bearer <token>`` and never shown in reprs, logs or
            errors.
        email: the default Kling account for every call; a call's own ``email=`` wins. Needed
            when the subscription has several accounts.
        base_url: the API root including ``/v1/kling``; defaults to ``USEAPI_BASE_URL``, else
            ``https://api.useapi.net/v1/kling``.
        timeout: positive finite seconds, an `httpx.Timeout`, or None for none; default
            connect 5 s, read 60 s.
        max_retries: retries after the first try (0 turns retrying off); default 2.
        retry: the full `RetryPolicy` (waits, statuses); ``max_retries`` overrides its count.
        http_client: an `httpx2.AsyncClient` (or encode/httpx's ``httpx.AsyncClient``) to send
            through. The caller owns and closes it. It lends its pool, transport and event hooks
            (which see each request as sent, token included): the SDK builds every request
            itself and sends it without the client's auth, default headers, cookies or params.
        limits: the connection pool of the client the SDK builds (ignored with ``http_client``).
        http: the transport of the client the SDK builds: ``"httpx2"`` (default; asyncio and
            trio) or ``"aiohttp"`` (asyncio only, several times less CPU per request; needs
            ``pip install 'kling-async[aiohttp]'``). On trio, ``"aiohttp"`` is refused.
            Ignored with ``http_client`` (whose own transport is used).
        deadline: seconds one API call may take in all, its retries and the waits between them
            included; None (the default) sets no bound beyond ``timeout`` per attempt and the
            retry policy. A call that reaches it raises `APITimeoutError`; a retry whose wait
            would end past it is not waited for (the last error is raised at once). File
            downloads are not bound by it.

    Example::

        async with KlingClient(email="me@example.com") as client:
            page = await client.assets.list(page_size=10)
            for work in page.works:
                print(work.work_id, work.prompt)

    """

    assets: AssetsResource
    """GET /assets and GET /assets/download: generated works."""
    uploads: UploadsResource
    """POST /assets, GET and DELETE /assets/uploaded: uploaded files."""
    elements: ElementsResource
    """GET /elements and GET /elements/{elementId}: elements."""
    accounts: AccountsResource
    """GET /accounts and GET /accounts/{email}: the configured Kling accounts."""
    scheduler: SchedulerResource
    """GET /scheduler/available: running jobs and each account's free capacity."""
    tasks: TasksResource
    """GET /tasks, GET and DELETE /tasks/{task_id}: generation tasks and their works."""

    def __init__(
        self,
        token: str | None = None,
        *,
        email: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | None = None,
        http_client: AnyAsyncClient | None = None,
        limits: AnyLimits | None = None,
        http: HTTPBackend = "httpx2",
        deadline: float | None = None,
    ) -> None:
        try:
            self._configure(email, base_url, timeout, max_retries, retry, http_client, limits, http)
            self._deadline = _to_deadline(deadline)
            self._set_token(token)
        except InvalidInputError as exc:
            # A traceback rendered with locals shows this frame's: let it hold no token.
            token = None
            raise exc.with_traceback(None) from None
        except BaseException:
            token = None
            raise
        self._bind_resources()

    def _configure(
        self,
        email: str | None,
        base_url: str | httpx.URL | None,
        timeout: TimeoutTypes,
        max_retries: int | NotGiven,
        retry: RetryPolicy | None,
        http_client: AnyAsyncClient | None,
        limits: AnyLimits | None,
        http: HTTPBackend,
    ) -> None:
        """Check every setting but the token and build the client's state."""
        self._base_url = _check_base_url(
            base_url if base_url is not None else os.environ.get("USEAPI_BASE_URL")
        )
        self._email = normalize_email(email)
        self._timeout = _to_timeout(timeout)
        self._timeout_dict = self._timeout.as_dict()
        self._retry = _retry_policy(retry, max_retries)
        limits = _to_limits(limits)
        library = HTTP_LIBRARY if http_client is None else library_of(http_client)
        if library is None:
            raise InvalidInputError(
                "http_client must be an httpx2.AsyncClient (or an httpx.AsyncClient of "
                f"encode/httpx), not {type(http_client).__name__}"
            )
        self._library = library
        # File downloads: no token, and the bytes as stored (hashes are of the file itself).
        self._cdn_headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        if http not in get_args(HTTPBackend):
            raise InvalidInputError(f"http must be 'httpx2' or 'aiohttp', not {shown(http)}")
        self._asyncio_only = http == "aiohttp" and http_client is None
        if http_client is None:
            try:
                self._http = build_client(
                    http, limits=limits or DEFAULT_LIMITS, timeout=self._timeout
                )
            except ValueError as exc:
                raise InvalidInputError(str(exc)) from None
            self._owns_http = True
            self._max_connections = (limits or DEFAULT_LIMITS).max_connections
        else:
            # An encode/httpx client has httpx2's API; `library` describes its exceptions.
            self._http = cast("httpx.AsyncClient", http_client)
            self._owns_http = False
            self._max_connections = _pool_size(self._http)
        # Requests past the pool size wait here, not in httpx's pool, whose wait times out.
        self._pool_slots = anyio.CapacityLimiter(self._max_connections or math.inf)
        self._pool_slot = _PoolSlot(self._pool_slots)

    def _set_token(self, token: str | None) -> None:
        """Check the token and build the headers that carry it.

        The constructor's last step: no other error is raised while a frame holds the token.
        """
        token = _check_token(token if token is not None else os.environ.get("USEAPI_TOKEN"))
        self._redactor = Redactor(token)
        self._headers = httpx.Headers(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
                "User-Agent": _USER_AGENT,
            }
        )

    def _bind_resources(self) -> None:
        requester = _ClientRequester(self)
        self.assets = AssetsResource(requester)
        self.uploads = UploadsResource(requester)
        self.elements = ElementsResource(requester)
        self.accounts = AccountsResource(requester)
        self.scheduler = SchedulerResource(requester)
        self.tasks = TasksResource(requester)

    # -- configuration -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root every endpoint path is joined under, without a trailing slash."""
        return self._base_url

    @property
    def email(self) -> str | None:
        """The default account email, or None."""
        return self._email

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts every request uses unless a call passes its own ``timeout=``."""
        return self._timeout

    @property
    def deadline(self) -> float | None:
        """Seconds one API call may take across all its attempts and waits, or None."""
        return self._deadline

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._retry

    @property
    def max_connections(self) -> int | None:
        """The connection pool's size, when known; batch helpers keep concurrency within it."""
        return self._max_connections

    def with_options(
        self,
        *,
        email: str | NotGiven | None = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> KlingClient:
        """Return a client with some settings changed that shares this one's connection pool.

        The copy does not own the pool: closing it does nothing, and it stops working once the
        client it came from is closed.

        Example::

            patient = client.with_options(timeout=300, max_retries=5)
            page = await client.with_options(deadline=5).assets.list()  # this call: 5 s in all
        """
        new = copy.copy(self)
        new._owns_http = False
        if not isinstance(email, NotGiven):
            new._email = normalize_email(email)
        if not isinstance(timeout, NotGiven):
            new._timeout = _to_timeout(timeout)
            new._timeout_dict = new._timeout.as_dict()
        if not isinstance(retry, NotGiven) or not isinstance(max_retries, NotGiven):
            base = self._retry if isinstance(retry, NotGiven) else retry
            new._retry = _retry_policy(base, max_retries)
        if not isinstance(deadline, NotGiven):
            new._deadline = _to_deadline(deadline)
        new._bind_resources()
        return new

    def __repr__(self) -> str:
        # getattr: a traceback rendered with locals may show a client that is half built.
        base_url = getattr(self, "_base_url", None)
        email = getattr(self, "_email", None)
        return f"KlingClient(base_url={base_url!r}, email={email!r})"

    # -- lifecycle -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool, when this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> KlingClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the request core ----------------------------------------------------------------

    def _resolve_email(self, email: str | None) -> str | None:
        """The account for one call: its own ``email=``, else the client's."""
        return normalize_email(email) if email is not None else self._email

    def _check_open(self, method: str, url: str) -> None:
        if self._asyncio_only and not on_asyncio(default=False):
            raise KlingError(f"{method} {without_query(url)}: {AIOHTTP_NEEDS_ASYNCIO}")
        if self._http.is_closed:
            raise self._closed_error(method, url)

    def _failure(
        self, cls: type[E], message: str, request: httpx.Request, cause: BaseException
    ) -> E:
        """An error for a failed attempt: message and request redacted, ``cause`` made safe."""
        error = cls(self._redactor.text(message), request=self._redactor.request(request))
        error.__cause__ = self._redactor.cause(cause)
        return error

    def _closed_error(self, method: str, url: str) -> ClientClosedError:
        return ClientClosedError(
            f"{method} {without_query(url)}: this KlingClient is closed; make calls inside its "
            "`async with` block, or before `aclose()`"
        )

    async def _request(
        self,
        method: str,
        path: str,
        cast_to: type[T] | Decoder[T],
        *,
        params: dict[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        context: CallContext | None = None,
        content: RequestContent | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        """Send one API call, retrying per the policy, and decode a 2xx body into ``cast_to``.

        ``path`` is already percent-encoded; ``params`` are encoded here. ``context`` (the
        account, the page) goes onto every error the call raises. ``content`` is the request
        body and ``headers`` are sent on top of the client's (a body's ``Content-Type``); see
        `Requester.request` for what a body changes about retries. ``check`` reads the decoded
        body and returns what failed when a 2xx answer reports a failure (raised as
        `OperationFailedError`), else None.
        """
        url = self._base_url + path
        self._check_open(method, url)
        timeouts = (
            self._timeout_dict if isinstance(timeout, NotGiven) else _to_timeout(timeout).as_dict()
        )
        body = None if content is None or isinstance(content, bytes) else _Body(content)
        sent_headers = self._headers
        if headers:
            sent_headers = sent_headers.copy()
            sent_headers.update(headers)
        # Built here, not by the http client: a caller's client lends its pool and transport,
        # never its auth, default headers, cookies or query params.
        request = self._library.request(
            method,
            url,
            params=params,
            headers=sent_headers,
            content=content if body is None else body,
            extensions={"timeout": timeouts},
        )

        async def decode(response: httpx.Response) -> T:
            raw, decoded = await _read_raw(response)
            if decoded or not _encoded(response):  # the usual case: the bytes are the body
                content = raw
            else:
                content = _as_response(response, raw, decoded, request).content
            error: APIError
            try:
                value = decode_body(content, cast_to)
            except ResponseValidationError as invalid:
                # A fresh error, raised outside this block: the decoder's frames and the
                # exceptions chained to its error hold the raw body.
                error = ResponseValidationError(
                    self._redactor.text(invalid.message),
                    path=invalid.path,
                    response=self._redactor.response(_as_response(response, raw, decoded, request)),
                )
            else:
                failure = None if check is None else check(value)
                if failure is None:
                    return value
                del value
                error = OperationFailedError(
                    self._redactor.text(failure),
                    response=self._redactor.response(_as_response(response, raw, decoded, request)),
                    body=self._redactor.value(orjson.loads(content)),
                )
                del failure
            del raw, content  # a traceback rendered with locals would show the body
            raise error

        try:
            return await self._send(request, _API, decode, context, body)
        except Exception:
            if body is None or body.failure is None:
                raise
            failure = body.failure
        # The caller's stream failed, or broke its promise: its own error, with its own
        # traceback (the HTTP library's frames in between hold the request as sent).
        raise failure.with_traceback(body.failure_traceback)

    async def _fetch_file(self, url: str, receive: Callable[[httpx.Response], Awaitable[T]]) -> T:
        """GET a file from the CDN (no token sent) and hand the streamed response to ``receive``.

        ``receive`` consumes the body (``response.aiter_raw()``) and returns what it made of it;
        it runs again from the start on each retry. Failures are the client's errors, with
        `CDNError` for a non-2xx answer; retries follow the client's policy, timeouts are
        `CDN_TIMEOUT`.
        """
        self._check_open("GET", url)
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise APIError(f"cannot download {without_query(url)}: not a URL ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise APIError(f"cannot download {without_query(url)}: not an http(s) URL")
        request = self._library.request(
            "GET", url, headers=self._cdn_headers, extensions={"timeout": _CDN_TIMEOUTS}
        )
        return await self._send(request, _CDN, receive, None)

    async def _send(
        self,
        request: httpx.Request,
        target: _Target,
        on_success: Callable[[httpx.Response], Awaitable[T]],
        context: CallContext | None,
        stream: _Body | None = None,
    ) -> T:
        """The one send path for API calls and file downloads.

        It sends, times out, maps failures to the SDK's errors, logs and retries;
        ``on_success`` reads a 2xx response while it is open. An API call ends by the
        client's `deadline` at the latest.
        """
        deadline = self._deadline if target is _API else None
        if deadline is None:
            return await self._attempts(request, target, on_success, context, math.inf, stream)
        with anyio.move_on_after(deadline):
            ends_at = anyio.current_time() + deadline
            return await self._attempts(request, target, on_success, context, ends_at, stream)
        error = APITimeoutError(
            f"{target.label(request)}: no answer within the call's deadline of {deadline:g} s",
            request=self._redactor.request(request),
        )
        raise _in_context(error, context)

    async def _attempts(
        self,
        request: httpx.Request,
        target: _Target,
        on_success: Callable[[httpx.Response], Awaitable[T]],
        context: CallContext | None,
        ends_at: float,
        stream: _Body | None,
    ) -> T:
        """Try ``request`` until it succeeds or fails for good.

        A retry whose wait would end past ``ends_at`` (anyio's clock) is not waited for. A
        request that is not idempotent (a POST) is tried again only when the server surely
        did not act on it (see `_may_resend`); one whose ``stream`` (its body) failed, never.
        """
        library = self._library
        attempts = self._retry.max_retries + 1
        debug = logger.isEnabledFor(logging.DEBUG)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            error: APIError
            outcome: object = ""
            unsent = False  # whether the request surely never left: no connection was made
            try:
                async with self._pool_slot:
                    response = await self._http.send(
                        request, stream=True, auth=None, follow_redirects=target.follow_redirects
                    )
                    try:
                        if debug:
                            _log_attempt(
                                target.label(request),
                                response.status_code,
                                attempt,
                                attempts,
                                started,
                            )
                        if 200 <= response.status_code < 300:
                            return await on_success(response)
                        body = await _read_response(response, request)
                    finally:
                        await response.aclose()
                error = target.status_error(body, self._redactor)
            except APIError as failed:  # from on_success: the body was cut short or does not fit
                error = failed
            except library.timeout as exc:
                outcome, unsent = type(exc).__name__, isinstance(exc, library.unsent)
                label = target.label(request)
                error = self._failure(APITimeoutError, f"{outcome} on {label}", request, exc)
            except library.decoding as exc:
                # A body its Content-Encoding does not describe: damaged, like a cut one.
                outcome = type(exc).__name__
                label = target.label(request)
                message = f"the response body could not be decoded on {label}: {exc}"
                error = self._failure(APIConnectionError, message, request, exc)
            except library.transport as exc:
                outcome, unsent = type(exc).__name__, isinstance(exc, library.unsent)
                message = f"{outcome} on {target.label(request)}: {exc}"
                error = self._failure(APIConnectionError, message, request, exc)
            except library.error as exc:  # anything else the library raises: not retried
                message = f"{type(exc).__name__} on {target.label(request)}: {exc}"
                failure = self._failure(APIError, message, request, exc)
                raise _in_context(failure, context) from failure.__cause__
            except RuntimeError:  # httpx's own word for a client closed while this call waited
                if self._http.is_closed:
                    raise self._closed_error(request.method, str(request.url)) from None
                raise
            if outcome and debug:
                _log_attempt(target.label(request), outcome, attempt, attempts, started)
            if stream is not None and stream.failure is not None:
                raise error  # `_request` raises the stream's own error in its place
            wait = self._retry.wait_before(attempt, error)
            if wait is not None and not _may_resend(request.method, error, unsent, stream):
                wait = None
            if wait is None or anyio.current_time() + wait >= ends_at:
                raise _in_context(error, context)
            logger.info(
                "retrying %s in %.2f s after %s (retry %d of %d)",
                target.label(request),
                wait,
                _error_label(error),
                attempt,
                self._retry.max_retries,
            )
            await anyio.sleep(wait)


class _PoolSlot:
    """Holds one of the limiter's slots; waits (and yields to the loop) only when none is free.

    ``async with limiter`` always yields, even with slots free; meanwhile the connection the
    last request released sits idle, and httpcore probes every idle connection's socket on
    each request (a third of the client's CPU at 64 requests in flight).
    """

    __slots__ = ("_limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        """The limiter (its ``borrowed_tokens`` say how many calls are on the wire)."""
        return self._limiter

    async def __aenter__(self) -> None:
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._limiter.release()


async def _read_raw(response: httpx.Response) -> tuple[bytes, bool]:
    """The whole body of a streamed response, and whether it is decoded already.

    It is as sent (not decoded), unless the transport had read it already (MockTransport).
    """
    if response.is_stream_consumed:
        return response.content, True
    return b"".join([part async for part in response.aiter_raw()]), False


async def _read_response(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """A streamed response read whole, as a read response of this library (see `_as_response`)."""
    raw, decoded = await _read_raw(response)
    return _as_response(response, raw, decoded, request)


def _encoded(response: httpx.Response) -> bool:
    """Whether the body as sent has a Content-Encoding to undo."""
    encoding = response.headers.get("content-encoding", "")
    return encoding.strip().lower() not in ("", "identity")


def _as_response(
    response: httpx.Response, body: bytes, decoded: bool, request: httpx.Request
) -> httpx.Response:
    """A read response of this library with ``body``, which is decoded here unless ``decoded``.

    The body is decoded only once it is all in, in plain code: httpx decodes inside async
    generators that it leaves unclosed when a body does not decode (a warning on trio, a leak
    until collected). A response from another httpx distribution comes back as this one's.
    """
    headers = response.headers.multi_items()
    if decoded:  # drop what described the encoding
        headers = [(name, value) for name, value in headers if name.lower() not in _BODY_HEADERS]
    if not isinstance(request, httpx.Request):  # sent through a client of encode/httpx
        request = httpx.Request(request.method, str(request.url), headers=request.headers.raw)
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=request,
        extensions=response.extensions,
    )


_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _status_error(response: httpx.Response, redactor: Redactor) -> APIStatusError:
    """Build the `APIStatusError` subclass that matches a non-2xx response, token removed."""
    content = response.content
    body: Any
    try:
        body = orjson.loads(content) if content else None
    except orjson.JSONDecodeError:
        body = response.text
    body = redactor.value(body)
    message = (
        _describe_body(body)
        or response.reason_phrase
        or httpx.codes.get_reason_phrase(response.status_code)
        or f"HTTP {response.status_code}"
    )
    error = error_class_for_status(response.status_code, message)(
        message, response=redactor.response(response), body=body
    )
    if isinstance(error, RateLimitError):
        error.retry_after = parse_retry_after(response.headers)
    return error


def _cdn_error(response: httpx.Response, redactor: Redactor) -> APIStatusError:
    """The error for a CDN answer that is not 2xx (the file, not the work, is missing)."""
    code = response.status_code
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(code) or f"HTTP {code}"
    return CDNError(f"{reason} from the CDN", response=redactor.response(response), body=None)


@attrs.frozen
class _Target:
    """How the send path treats one kind of destination: the API, or the file CDN."""

    follow_redirects: bool
    status_error: Callable[[httpx.Response, Redactor], APIStatusError]
    describe: Callable[[str], str]  # a request URL as logs and messages show it

    def label(self, request: httpx.Request) -> str:
        """``METHOD url`` for logs and messages (built only when one is written)."""
        return f"{request.method} {self.describe(str(request.url))}"


# API calls are logged with their query (account, page); file URLs without (signed parameters).
_API = _Target(follow_redirects=False, status_error=_status_error, describe=str)
_CDN = _Target(follow_redirects=True, status_error=_cdn_error, describe=without_query)
_CDN_TIMEOUTS = CDN_TIMEOUT.as_dict()


class _Body:
    """A streamed request body: notes whether sending it began, and what its source raised.

    A source that is an async iterator (an async generator, say) can be read once: after a
    try has started reading it, the request cannot be sent again. Any other async iterable
    is read afresh by each try (e.g. a file opened again).
    """

    __slots__ = ("_source", "failure", "failure_traceback", "one_shot", "started")

    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._source = source
        self.one_shot = isinstance(source, AsyncIterator)
        self.started = False
        self.failure: Exception | None = None
        self.failure_traceback: TracebackType | None = None

    @property
    def resendable(self) -> bool:
        """Whether another try can send the whole body again."""
        return self.failure is None and not (self.one_shot and self.started)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True  # on the first chunk asked for, not when the transport prepares
        chunks = self._source if self.one_shot else self._source.__aiter__()
        assert isinstance(chunks, AsyncIterator)
        while True:
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except Exception as exc:
                # Kept from here down: the frames above (the HTTP library's) hold the request.
                self.failure, self.failure_traceback = exc, exc.__traceback__
                raise
            yield chunk


_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})  # RFC 9110, 9.2.2
# Answers that say the server refused the request without acting on it.
_NOT_ACTED_ON = frozenset({408, 429})


def _may_resend(method: str, error: APIError, unsent: bool, body: _Body | None) -> bool:
    """Whether a failed try of a request may be repeated, as far as its method and body go.

    An idempotent request may (the retry policy decides the rest). Any other, a POST that
    creates something, only when the server surely did not act on it: no connection was
    made, or it answered 408 or 429; and only when its body can be sent again.
    """
    if method in _IDEMPOTENT:
        return True
    refused = isinstance(error, APIStatusError) and error.status_code in _NOT_ACTED_ON
    return (unsent or refused) and (body is None or body.resendable)


def _log_attempt(label: str, outcome: object, attempt: int, attempts: int, started: float) -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.debug("%s -> %s (attempt %d/%d, %.1f ms)", label, outcome, attempt, attempts, elapsed_ms)


def _in_context(error: APIError, context: CallContext | None) -> APIError:
    """``error``, saying which account and page the call was for (the one place it is said)."""
    if context is not None:
        error.email, error.page_num = context.email, context.page_num
    return error


def _error_label(error: APIError) -> str:
    if isinstance(error, APIStatusError):
        return f"{error.status_code} {error.message}"
    return type(error).__name__


def _check_token(token: str | None) -> str:
    if token is None:
        raise InvalidInputError(
            "no API token: pass KlingClient(token=...) or set the USEAPI_TOKEN environment variable"
        )
    if not isinstance(token, str):
        raise InvalidInputError(f"the API token must be a string, not {type(token).__name__}")
    token = token.strip()
    if not token:
        raise InvalidInputError("the API token is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) > 126 for ch in token):
        raise InvalidInputError("the API token contains spaces or characters outside ASCII")
    return token


def _check_base_url(base_url: str | httpx.URL | None) -> str:
    if base_url is None or (isinstance(base_url, str) and not base_url.strip()):
        return DEFAULT_BASE_URL
    try:
        url = httpx.URL(str(base_url).strip())
    except httpx.InvalidURL as exc:
        raise InvalidInputError(f"base_url {str(base_url)!r} is not a URL: {exc}") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise InvalidInputError(f"base_url {str(base_url)!r} must be an http(s) URL with a host")
    if url.port is not None and not 0 < url.port <= 65535:
        raise InvalidInputError(f"base_url {str(base_url)!r} has no valid port (1-65535)")
    if url.userinfo:
        # Never echo them; they would also replace the Bearer token (Basic auth).
        raise InvalidInputError(
            "base_url must not carry credentials (user:password@); the API token goes in "
            "token= or USEAPI_TOKEN"
        )
    if url.query or url.fragment:
        raise InvalidInputError(f"base_url {str(base_url)!r} must not have a query or fragment")
    return str(url).rstrip("/")


def _to_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    """Check a ``timeout=`` argument: positive finite seconds, an `httpx.Timeout`, or None."""
    timeout = foreign_timeout(timeout) or timeout
    if isinstance(timeout, httpx.Timeout):
        for phase, seconds in timeout.as_dict().items():
            if seconds is not None and not _positive_seconds(seconds):
                raise InvalidInputError(
                    f"timeout: the {phase} timeout must be positive finite seconds or None, "
                    f"not {shown(seconds)}"
                )
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if not isinstance(timeout, (int, float)) or not _positive_seconds(timeout):
        raise InvalidInputError(
            "timeout must be positive finite seconds, an httpx.Timeout or None (no timeout), "
            f"not {shown(timeout)}"
        )
    return httpx.Timeout(float(timeout))


def _to_limits(limits: object) -> httpx.Limits | None:
    """Check a ``limits=`` argument: an `httpx.Limits` (of httpx2 or encode/httpx), or None."""
    if limits is None or isinstance(limits, httpx.Limits):
        return limits
    converted = foreign_limits(limits)
    if converted is None:
        raise InvalidInputError(f"limits must be an httpx.Limits, not {type(limits).__name__}")
    return converted


class _ClientRequester:
    """The `Requester` the endpoint namespaces of one client send through."""

    __slots__ = ("_client",)

    def __init__(self, client: KlingClient) -> None:
        self._client = client

    def account(self, email: str | None) -> str | None:
        return self._client._resolve_email(email)

    async def request(
        self,
        method: str,
        path: str,
        cast_to: type[T] | Decoder[T],
        *,
        params: dict[str, str],
        timeout: TimeoutTypes | NotGiven,
        context: CallContext,
        content: RequestContent | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        return await self._client._request(
            method,
            path,
            cast_to,
            params=params,
            timeout=timeout,
            context=context,
            content=content,
            headers=headers,
            check=check,
        )


def _to_deadline(deadline: object) -> float | None:
    """Check a ``deadline=`` argument: positive finite seconds, or None."""
    if deadline is None:
        return None
    if not _positive_seconds(deadline):
        raise InvalidInputError(
            f"deadline must be positive finite seconds or None, not {shown(deadline)}"
        )
    return float(deadline)  # type: ignore[arg-type]  # _positive_seconds proved it a number


def _positive_seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        return False
    return math.isfinite(seconds) and seconds > 0


def _retry_policy(retry: RetryPolicy | None, max_retries: int | NotGiven) -> RetryPolicy:
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise InvalidInputError(f"retry must be a RetryPolicy, not {type(retry).__name__}")
    policy = retry if retry is not None else RetryPolicy()
    if isinstance(max_retries, NotGiven):
        return policy
    return attrs.evolve(policy, max_retries=max_retries)  # RetryPolicy checks the value


def _pool_size(http_client: httpx.AsyncClient) -> int | None:
    """The pool size of a caller's client, when its default transport exposes it."""
    pool = getattr(getattr(http_client, "_transport", None), "_pool", None)
    size = getattr(pool, "_max_connections", None)
    return size if isinstance(size, int) else None
