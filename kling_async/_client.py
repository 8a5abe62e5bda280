"""`KlingClient`, and the one request core that every endpoint goes through."""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar, get_args

import anyio
import attrs
import orjson

from ._converter import decode_json
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    CDNError,
    ClientClosedError,
    InvalidInputError,
    KlingError,
    RateLimitError,
    ResponseValidationError,
    _describe_body,
    error_class_for_status,
)
from ._http import (
    AIOHTTP_NEEDS_ASYNCIO,
    HTTP_LIBRARY,
    HTTPBackend,
    build_client,
    false_timeout,
    httpx,
    library_of,
    on_asyncio,
)
from ._params import normalize_email, shown
from ._redact import Redactor
from ._resources import AssetsResource, ElementsResource, UploadsResource
from ._retry import RetryPolicy, parse_retry_after
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes
from ._version import __version__

__all__ = ["CDN_TIMEOUT", "DEFAULT_BASE_URL", "DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "KlingClient"]

T = TypeVar("T")

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
    `elements`.

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
        http_client: an `httpx.AsyncClient` to send through. The caller owns and closes it. It
            lends its pool and transport only: the SDK builds every request itself and sends
            it without the client's auth, default headers, cookies or query params.
        limits: the connection pool of the client the SDK builds (ignored with ``http_client``).
        http: the transport of the client the SDK builds: ``"httpx2"`` (default; asyncio and
            trio) or ``"aiohttp"`` (asyncio only, several times less CPU per request; needs
            ``pip install 'kling-async[aiohttp]'``). On trio, ``"aiohttp"`` is refused.
            Ignored with ``http_client`` (whose own transport is used).

    Example::

        async with KlingClient(email="me@example.com") as client:
            page = await client.assets.list(page_size=10)
            for work in page.works:
                print(work.work_id, work.prompt)

    """

    assets: AssetsResource
    """GET /assets and GET /assets/download: generated works."""
    uploads: UploadsResource
    """GET and DELETE /assets/uploaded: uploaded files."""
    elements: ElementsResource
    """GET /elements/{elementId}."""

    def __init__(
        self,
        token: str | None = None,
        *,
        email: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        limits: httpx.Limits | None = None,
        http: HTTPBackend = "httpx2",
    ) -> None:
        try:
            self._configure(
                token, email, base_url, timeout, max_retries, retry, http_client, limits, http
            )
        except InvalidInputError as exc:
            # A traceback rendered with locals shows this frame's: let it hold no token.
            token = None
            raise exc.with_traceback(None) from None
        self._bind_resources()

    def _configure(
        self,
        token: str | None,
        email: str | None,
        base_url: str | httpx.URL | None,
        timeout: TimeoutTypes,
        max_retries: int | NotGiven,
        retry: RetryPolicy | None,
        http_client: httpx.AsyncClient | None,
        limits: httpx.Limits | None,
        http: HTTPBackend,
    ) -> None:
        """Check every setting and build the client's state (the constructor's body)."""
        # Settings first, the token last: an error about a setting is raised before any
        # frame holds the token.
        self._base_url = _check_base_url(
            base_url if base_url is not None else os.environ.get("USEAPI_BASE_URL")
        )
        self._email = normalize_email(email)
        self._timeout = _to_timeout(timeout)
        self._retry = _retry_policy(retry, max_retries)
        if limits is not None and not isinstance(limits, httpx.Limits):
            raise InvalidInputError(f"limits must be an httpx.Limits, not {type(limits).__name__}")
        library = HTTP_LIBRARY if http_client is None else library_of(http_client)
        if library is None:
            raise InvalidInputError(
                "http_client must be an httpx2.AsyncClient (or an httpx.AsyncClient of "
                f"encode/httpx), not {type(http_client).__name__}"
            )
        self._library = library
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
            self._http = http_client
            self._owns_http = False
            self._max_connections = _pool_size(http_client)
        # Requests past the pool size wait here, not in httpx's pool, whose wait times out.
        self._pool_slots = anyio.CapacityLimiter(self._max_connections or math.inf)

    def _bind_resources(self) -> None:
        self.assets = AssetsResource(self)
        self.uploads = UploadsResource(self)
        self.elements = ElementsResource(self)

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
    ) -> KlingClient:
        """Return a client with some settings changed that shares this one's connection pool.

        The copy does not own the pool: closing it does nothing, and it stops working once the
        client it came from is closed.

        Example::

            patient = client.with_options(timeout=300, max_retries=5)
        """
        new = copy.copy(self)
        new._owns_http = False
        if not isinstance(email, NotGiven):
            new._email = normalize_email(email)
        if not isinstance(timeout, NotGiven):
            new._timeout = _to_timeout(timeout)
        if not isinstance(retry, NotGiven) or not isinstance(max_retries, NotGiven):
            base = self._retry if isinstance(retry, NotGiven) else retry
            new._retry = _retry_policy(base, max_retries)
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

    def _check_open(self, what: str) -> None:
        if self._asyncio_only and not on_asyncio(default=False):
            raise KlingError(f"{what}: {AIOHTTP_NEEDS_ASYNCIO}")
        if self._http.is_closed:
            raise ClientClosedError(
                f"{what}: this KlingClient is closed; make calls inside its `async with` block, "
                "or before `aclose()`"
            )

    async def _request(
        self,
        method: str,
        path: str,
        cast_to: type[T],
        *,
        params: dict[str, str] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
    ) -> T:
        """Send one API call, retrying per the policy, and decode a 2xx body into ``cast_to``.

        ``path`` is already percent-encoded; ``params`` are encoded here.
        """
        self._check_open(f"{method} {path.split('?')[0]}")
        request_timeout = self._timeout if isinstance(timeout, NotGiven) else _to_timeout(timeout)
        # Built here, not by the http client: a caller's client lends its pool and transport,
        # never its auth, default headers, cookies or query params.
        request = self._library.request(
            method,
            self._base_url + path,
            params=params,
            headers=self._headers,
            extensions={"timeout": request_timeout.as_dict()},
        )

        async def decode(response: httpx.Response) -> T:
            body = await _read_body(response, request)
            try:
                return decode_json(body.content, cast_to, response=body)
            except ResponseValidationError as invalid:
                # A fresh error, raised outside this block: the decoder's frames and the
                # exceptions chained to its error hold the raw body.
                rejected = ResponseValidationError(
                    self._redactor.text(invalid.message),
                    path=invalid.path,
                    response=self._redactor.response(body),
                )
            raise rejected

        return await self._send(request, _API, decode, params)

    async def _fetch_file(self, url: str, receive: Callable[[httpx.Response], Awaitable[T]]) -> T:
        """GET a file from the CDN (no token sent) and hand the streamed response to ``receive``.

        ``receive`` consumes the body (``response.aiter_raw()``) and returns what it made of it;
        it runs again from the start on each retry. Failures are the client's errors, with
        `CDNError` for a non-2xx answer; retries follow the client's policy.
        """
        self._check_open(f"GET {_without_query(url)}")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise APIError(f"cannot download {url!r}: not a URL ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise APIError(f"cannot download {_without_query(url)}: not an http(s) URL")
        request = self._library.request(
            "GET", url, headers=self._cdn_headers, extensions={"timeout": CDN_TIMEOUT.as_dict()}
        )
        return await self._send(request, _CDN, receive, None)

    async def _send(
        self,
        request: httpx.Request,
        target: _Target,
        on_success: Callable[[httpx.Response], Awaitable[T]],
        params: dict[str, str] | None,
    ) -> T:
        """The one send path for API calls and file downloads.

        It sends, times out, maps failures to the SDK's errors, logs and retries;
        ``on_success`` reads a 2xx response while it is open.
        """
        library = self._library
        label = f"{request.method} {target.describe(request.url)}"
        attempts = self._retry.max_retries + 1
        debug = logger.isEnabledFor(logging.DEBUG)
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            error: APIError
            outcome: object = ""
            try:
                async with _PoolSlot(self._pool_slots):
                    response = await self._http.send(
                        request, stream=True, auth=None, follow_redirects=target.follow_redirects
                    )
                    try:
                        if debug:
                            _log_attempt(label, response.status_code, attempt, attempts, started)
                        if 200 <= response.status_code < 300:
                            return await on_success(response)
                        body = await _read_body(response, request)
                    finally:
                        await response.aclose()
                error = target.status_error(body, self._redactor)
            except APIError as failed:  # from on_success: the body was cut short or does not fit
                error = failed
            except library.timeout as exc:
                really = false_timeout(exc)
                outcome = really or type(exc).__name__
                failure = APIConnectionError if really else APITimeoutError
                error = failure(f"{outcome} on {label}", request=self._redactor.request(request))
                error.__cause__ = self._redactor.cause(exc)
            except library.decoding as exc:
                # A body its Content-Encoding does not describe: damaged, like a cut one.
                outcome = type(exc).__name__
                error = APIConnectionError(
                    f"the response body could not be decoded on {label}: "
                    f"{self._redactor.text(str(exc))}",
                    request=self._redactor.request(request),
                )
                error.__cause__ = self._redactor.cause(exc)
            except library.transport as exc:
                outcome = type(exc).__name__
                error = APIConnectionError(
                    f"{outcome} on {label}: {self._redactor.text(str(exc))}",
                    request=self._redactor.request(request),
                )
                error.__cause__ = self._redactor.cause(exc)
            except library.error as exc:  # anything else the library raises: not retried
                error = APIError(
                    f"{type(exc).__name__} on {label}: {self._redactor.text(str(exc))}",
                    request=self._redactor.request(request),
                )
                raise _with_call_context(error, params) from self._redactor.cause(exc)
            if outcome and debug:
                _log_attempt(label, outcome, attempt, attempts, started)
            wait = self._retry.wait_before(attempt, error)
            if wait is None:
                raise _with_call_context(error, params)
            logger.info(
                "retrying %s in %.2f s after %s (retry %d of %d)",
                label,
                wait,
                _error_label(error),
                attempt,
                self._retry.max_retries,
            )
            await anyio.sleep(wait)


class _PoolSlot:
    """Hold one of the limiter's slots; wait (and yield to the loop) only when none is free.

    ``async with limiter`` always yields, even with slots free; meanwhile the connection the
    last request released sits idle, and httpcore probes every idle connection's socket on
    each request (a third of the client's CPU at 64 requests in flight).
    """

    __slots__ = ("_limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._limiter.release()


@attrs.frozen
class _Target:
    """How the send path treats one kind of destination: the API, or the file CDN."""

    follow_redirects: bool
    status_error: Callable[[httpx.Response, Redactor], APIStatusError]
    describe: Callable[[Any], str]  # a request URL as logs and messages show it


async def _read_body(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """Read a streamed response whole; return it as a plain read response of this library.

    The body is decoded only once it is all in, in plain code: httpx decodes inside async
    generators that it leaves unclosed when a body does not decode (a warning on trio, a leak
    until collected). A response from another httpx distribution comes back as this one's.
    """
    if response.is_stream_consumed:  # a transport that read it already (MockTransport)
        if isinstance(response, httpx.Response):
            return response
        raw = response.content
        encoded_headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
    else:
        raw = b"".join([part async for part in response.aiter_raw()])
        encoded_headers = response.headers.multi_items()
    if not isinstance(request, httpx.Request):  # sent through a client of encode/httpx
        request = httpx.Request(request.method, str(request.url), headers=request.headers.raw)
    return httpx.Response(
        response.status_code,
        headers=encoded_headers,
        content=raw,
        request=request,
        extensions=response.extensions,
    )


def _cdn_error(response: httpx.Response, redactor: Redactor) -> APIStatusError:
    """The error for a CDN answer that is not 2xx (the file, not the work, is missing)."""
    code = response.status_code
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(code) or f"HTTP {code}"
    return CDNError(f"{reason} from the CDN", response=redactor.response(response), body=None)


def _without_query(url: object) -> str:
    """A URL without its query (a CDN URL's signed parameters), for logs and messages."""
    try:
        return str(httpx.URL(str(url)).copy_with(query=None, fragment=None))
    except (httpx.InvalidURL, TypeError):
        return "the file URL"


# API calls are logged with their query (account, page); file URLs without (signed parameters).
_API = _Target(False, lambda response, redactor: _status_error(response, redactor), str)
_CDN = _Target(True, _cdn_error, _without_query)


def _log_attempt(label: str, outcome: object, attempt: int, attempts: int, started: float) -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    logger.debug("%s -> %s (attempt %d/%d, %.1f ms)", label, outcome, attempt, attempts, elapsed_ms)


def _with_call_context(error: APIError, params: dict[str, str] | None) -> APIError:
    """Note on ``error`` the account and page the call was for, read from its query."""
    if params:
        error.email = params.get("email")
        page_num = params.get("pageNum")
        error.page_num = int(page_num) if page_num else None
    return error


def _error_label(error: APIError) -> str:
    if isinstance(error, APIStatusError):
        return f"{error.status_code} {error.message}"
    return type(error).__name__


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
    error = error_class_for_status(response.status_code)(
        message, response=redactor.response(response), body=body
    )
    if isinstance(error, RateLimitError):
        error.retry_after = parse_retry_after(response.headers)
    return error


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
    if not _positive_seconds(timeout):
        raise InvalidInputError(
            "timeout must be positive finite seconds, an httpx.Timeout or None (no timeout), "
            f"not {shown(timeout)}"
        )
    return httpx.Timeout(float(timeout))


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
