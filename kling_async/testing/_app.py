r"""The fake server's ASGI app: the Kling endpoints, the fake CDN and the ``/_fake/`` controls.

Routes:

- ``/v1/kling/...``: the API, behind ``Authorization: Bearer <token>``; requests are recorded,
  delayed by the configured latency and subject to faults.
- ``/_cdn/...``: the files behind download ``cdnUrl``\\s; no auth, recorded, no latency.
- ``/_fake/...``: out-of-process control (stats, reset, config); no auth, not recorded.
"""

from __future__ import annotations

import contextlib
import random
import re
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._data import CONTENT_TYPES, FILE_TYPES, AccountData, Dataset, TaskRecord
from ._faults import Fault, FaultPlan, encode_json
from ._files import FILE_EXTENSIONS, MEDIA_TYPES, build_zip, expected_file_bytes, member_name
from ._stats import RecordedRequest, RequestLog

__all__ = ["API_ROOT", "ServerState", "build_app", "download_members"]

#: Where the API lives on the fake server.
API_ROOT = "/v1/kling"

_RECORD_KEY = "kling_async.fake.record"
_NUMERIC_LIST = re.compile(r"[0-9]+(?:,[0-9]+)*")
_DELETE_IDS = re.compile(r"[0-9]+(?:,[0-9]+){0,9}")
_POSITIVE_INT = re.compile(r"[0-9]{1,9}")
_EXT_TO_TYPE = {ext: kind for kind, ext in FILE_EXTENSIONS.items()}
# A body that starts like an assets page and stops in the middle: not JSON.
_MALFORMED_BODY = b'{"limitations": [], "history": [{"works": [{"workId": 3200'
_DROP_BODY = b'{"limitations": [], "history": ['
# What a corrupt_gzip fault sends under Content-Encoding: gzip (gzip starts with 1f 8b).
_NOT_GZIP_BODY = b"this is not gzip"


class ServerState:
    """Mutable state shared by the app and the `FakeKlingServer` that owns it."""

    def __init__(
        self, dataset: Dataset, token: str, *, latency: float, jitter: float, seed: int
    ) -> None:
        self.dataset = dataset
        self.token = token
        self.log = RequestLog()
        self.faults = FaultPlan()
        self.latency = latency
        self.jitter = jitter
        self._latency_rng = random.Random(f"kling-fake-latency:{seed}")
        self.started: anyio.Event | None = None
        self.closing: anyio.Event | None = None

    def begin_run(self) -> None:
        """Fresh lifecycle events for one run of the server (call inside the event loop)."""
        self.started = anyio.Event()
        self.closing = anyio.Event()

    def next_delay(self) -> float:
        """Seconds to hold the next API request: latency plus or minus up to jitter."""
        if self.jitter <= 0:
            return self.latency
        return max(0.0, self.latency + self._latency_rng.uniform(-self.jitter, self.jitter))

    def stats(self) -> dict[str, Any]:
        """What ``GET /_fake/stats`` reports."""
        return {
            **self.log.stats(),
            "latency": self.latency,
            "jitter": self.jitter,
            "pending_faults": [fault.to_dict() for fault in self.faults.pending],
            "fault_rate": self.faults.rate,
            "random_faults": [fault.to_dict() for fault in self.faults.random_faults],
        }


class _APIError(Exception):
    """Ends a request with ``{"error": message}`` (plus ``extra``) and ``status``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def _json(data: Any, status: int = 200) -> Response:
    # Not plain orjson: a pending Fault.body in the stats may hold integers beyond 64 bits.
    return Response(encode_json(data), status_code=status, media_type="application/json")


def _invalid(detail: str) -> _APIError:
    return _APIError(400, "Invalid parameters", detail=detail)


# -- instrumentation: recording, latency, faults, auth --------------------------------------


class _Instrumentation:
    """Records API and CDN requests, then applies latency, faults and auth before routing."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        is_api = path == API_ROOT or path.startswith(API_ROOT + "/")
        if not is_api and not path.startswith("/_cdn/"):
            await self.app(scope, receive, send)
            return
        state = self.state
        method: str = scope["method"]
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        raw_path = scope.get("raw_path")
        record = state.log.arrive(
            method,
            path,
            query,
            raw_path=raw_path.decode("latin-1") if isinstance(raw_path, bytes) else None,
            headers={
                name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
            },
        )
        scope[_RECORD_KEY] = record

        status: int | None = None

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # The status counts once the whole body is handed over; a response cut
                # short (drop, truncated, hang) keeps None. Finish before the last byte
                # leaves, so a client holding the response already sees the request as
                # finished in the log and in_flight.
                record.status = status
                state.log.finish(record)
            await send(message)

        try:
            if is_api:
                delay = state.next_delay()
                if delay > 0:
                    await anyio.sleep(delay)
            fault_path = (path[len(API_ROOT) :] or "/") if is_api else path
            fault = state.faults.take(method, fault_path, is_api=is_api)
            respond = recording_send
            captured: _CapturedResponse | None = None
            if fault is not None:
                record.fault = fault.kind
                if fault.kind == "delay":
                    await anyio.sleep(fault.seconds)
                elif fault.kind == "truncated":
                    captured = _CapturedResponse()
                    respond = captured.send
                else:
                    await self._inject(fault, receive, recording_send)
                    return
            if is_api and not self._authorized(scope):
                await _send_body(
                    respond,
                    401,
                    orjson.dumps({"error": "Unauthorized", "code": 401}),
                    "application/json",
                )
            else:
                await self.app(scope, receive, respond)
            if captured is not None:
                await captured.send_half(recording_send)
        finally:
            state.log.finish(record)

    def _authorized(self, scope: Scope) -> bool:
        expected = b"Bearer " + self.state.token.encode()
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        return values == [expected]

    async def _inject(self, fault: Fault, receive: Receive, send: Send) -> None:
        """Answer in place of the app (every kind but ``delay`` and ``truncated``)."""
        if fault.kind in ("status", "body"):
            body, media_type = fault.status_body()
            retry_after = fault.retry_after_header()
            extra = [(b"retry-after", retry_after.encode())] if retry_after is not None else []
            await _send_body(send, fault.code or 500, body, media_type, extra)
        elif fault.kind == "corrupt_gzip":
            gzip = [(b"content-encoding", b"gzip")]
            await _send_body(send, fault.code or 200, _NOT_GZIP_BODY, "application/json", gzip)
        elif fault.kind == "malformed_json":
            await _send_body(send, 200, _MALFORMED_BODY, "application/json")
        elif fault.kind == "drop" or await self._hang(receive):
            # No complete response is sent, whatever the status line says: the request
            # log keeps status None.
            await _send_truncated(send)

    async def _hang(self, receive: Receive) -> bool:
        """Wait for the client to disconnect (False) or the server to stop (True)."""
        closing = self.state.closing
        stopped = False
        async with anyio.create_task_group() as group:

            async def watch_client() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch_client)
            if closing is not None:
                await closing.wait()
                stopped = True
                group.cancel_scope.cancel()
        return stopped


async def _send_body(
    send: Send,
    status: int,
    body: bytes,
    media_type: str | None,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    headers = [(b"content-type", media_type.encode())] if media_type is not None else []
    headers += [(b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_truncated(send: Send) -> None:
    """Promise a body, send a piece of it and stop: the server then closes the connection."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _DROP_BODY, "more_body": True})


class _CapturedResponse:
    """Holds the app's response for a ``truncated`` fault, to pass on only half of it."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(bytes(message.get("body", b"")))

    async def send_half(self, send: Send) -> None:
        """Send the real status and headers, promising the whole body, and half the body."""
        if self.start is None:
            await _send_truncated(send)
            return
        body = b"".join(self.chunks)
        skipped = (b"content-length", b"transfer-encoding")
        headers = [
            (name, value)
            for name, value in self.start.get("headers", [])
            if name.lower() not in skipped
        ]
        # An empty body still promises a byte, so it is cut short too.
        headers.append((b"content-length", str(max(len(body), 1)).encode()))
        await send({**self.start, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )


# -- query parameters -------------------------------------------------------------------------


def _record(request: Request) -> RecordedRequest | None:
    record = request.scope.get(_RECORD_KEY)
    return record if isinstance(record, RecordedRequest) else None


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


def _account(request: Request, state: ServerState, *, required: bool = False) -> AccountData:
    """The account the ``email`` parameter names; a lone account may be implied."""
    email = _param(request, "email")
    accounts = state.dataset.accounts
    if email is None:
        if required:
            raise _APIError(400, "Parameter email is required")
        if len(accounts) > 1:
            raise _APIError(
                400, "Parameter email is required when more than one account is configured"
            )
        account = accounts[0]
    else:
        try:
            account = state.dataset.account(email)
        except KeyError:
            raise _APIError(404, f"Account {email} not found") from None
    record = _record(request)
    if record is not None:
        record.email = account.email
    return account


def _page_param(request: Request, name: str, default: int) -> int:
    value = _param(request, name)
    if value is None:
        return default
    if not _POSITIVE_INT.fullmatch(value) or int(value) < 1:
        raise _invalid(f"{name} must be a positive integer")
    return int(value)


def _content_type(request: Request) -> str | None:
    value = _param(request, "contentType")
    if value is None:
        return None
    if value.lower() not in CONTENT_TYPES:
        raise _invalid("contentType must be one of video, image, audio")
    return value.lower()


def _descending(request: Request) -> bool:
    value = _param(request, "sort")
    if value is None:
        return True
    if value.lower() not in ("asc", "desc"):
        raise _invalid("sort must be asc or desc")
    return value.lower() == "desc"


def _page(items: Sequence[Any], request: Request, default_size: int) -> Sequence[Any]:
    number = _page_param(request, "pageNum", 1)
    size = _page_param(request, "pageSize", default_size)
    if not _descending(request):
        items = items[::-1]
    start = (number - 1) * size
    return items[start : start + size]


def _file_types(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    kinds: list[str] = []
    for part in raw.split(","):
        kind = part.strip().upper()
        if kind not in FILE_TYPES:
            raise _APIError(
                400,
                f"Parameter fileTypes ({raw}) must be a comma-separated list of MP4, MP3, WAV, PNG",
            )
        if kind not in kinds:
            kinds.append(kind)
    return kinds


def _work_ids(raw: str | None) -> list[int]:
    if raw is None or not _NUMERIC_LIST.fullmatch(raw):
        raise _APIError(
            400,
            f"Parameter workIds ({raw or ''}) must be a numeric string or a comma-separated "
            "list of numeric strings",
        )
    return list(dict.fromkeys(int(part) for part in raw.split(",")))


def download_members(
    tasks: Sequence[tuple[int, TaskRecord]], file_types: Sequence[str] | None
) -> list[tuple[int, str]]:
    """The ``(work_id, file_type)`` files a download of these works holds, in order.

    Without ``file_types`` each work contributes every type it offers; with them, the requested
    types it offers (in the requested order).
    """
    members: list[tuple[int, str]] = []
    for work_id, task in tasks:
        wanted = task.file_types if file_types is None else file_types
        members.extend((work_id, kind) for kind in wanted if kind in task.file_types)
    return members


# -- API endpoints ----------------------------------------------------------------------------


def _endpoint(
    state: ServerState, handler: Callable[[Request, ServerState], Response]
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return handler(request, state)
        except _APIError as error:
            return _json(error.body, error.status)

    return endpoint


def _list_assets(request: Request, state: ServerState) -> Response:
    account = _account(request, state)
    tasks = account.tasks_of(_content_type(request))
    page = _page(tasks, request, 40)
    return _json(account.render_assets_page(page))


def _list_uploads(request: Request, state: ServerState) -> Response:
    account = _account(request, state)
    kind = _content_type(request)
    keyword = _param(request, "fileName")
    uploads = account.live_uploads
    if kind is not None:
        uploads = tuple(upload for upload in uploads if upload.content_type == kind)
    if keyword is not None:
        needle = keyword.lower()
        uploads = tuple(upload for upload in uploads if needle in upload.name.lower())
    page = _page(uploads, request, 20)
    return _json({"uploadAssetsList": [account.render_upload(upload) for upload in page]})


def _delete_uploads(request: Request, state: ServerState) -> Response:
    account = _account(request, state, required=True)
    raw = request.query_params.get("id", "")
    if not _DELETE_IDS.fullmatch(raw):
        raise _APIError(
            400,
            f"Parameter id ({raw}) must be a numeric string or a comma-separated list of up "
            "to 10 numeric strings",
        )
    deleted: list[str] = []
    for upload_id in dict.fromkeys(raw.split(",")):
        if account.upload(upload_id) is not None and upload_id not in account.deleted_upload_ids:
            account.deleted_upload_ids.add(upload_id)
            deleted.append(upload_id)
    return _json({"deleted": len(deleted), "ids": deleted})


def _download(request: Request, state: ServerState) -> Response:
    account = _account(request, state)
    work_ids = _work_ids(_param(request, "workIds"))
    file_types = _file_types(_param(request, "fileTypes"))
    tasks: list[tuple[int, TaskRecord]] = []
    for work_id in work_ids:
        task = account.task_of_work(work_id)
        if task is None:
            raise _APIError(404, f"Work {work_id} not found")
        tasks.append((work_id, task))
    origin = str(request.base_url).rstrip("/")
    if len(tasks) == 1 and file_types is not None and len(file_types) == 1:
        (work_id, task), kind = tasks[0], file_types[0]
        if kind not in task.file_types:
            raise _APIError(400, f"File type {kind} is not available for work {work_id}")
        url = f"{origin}/_cdn/works/{member_name(work_id, kind)}"
    else:
        if not download_members(tasks, file_types):
            raise _APIError(400, "None of the requested file types is available for these works")
        # Path only, no query: clients with default query params would replace a query.
        kinds = ",".join(file_types) if file_types is not None else "all"
        url = f"{origin}/_cdn/zip/{','.join(map(str, work_ids))}/{kinds}/download_result.zip"
    return _json({"cdnUrl": url, "status": "success"})


def _get_element(request: Request, state: ServerState) -> Response:
    account = _account(request, state)
    element_id = request.path_params["element_id"]
    element = account.element(element_id)
    if element is None:
        raise _APIError(404, f"Element {element_id} not found")
    return _json(account.render_element(element))


# -- fake CDN ---------------------------------------------------------------------------------


def _cdn_file(request: Request, state: ServerState) -> Response:
    name: str = request.path_params["name"]
    stem, _, ext = name.partition(".")
    kind = _EXT_TO_TYPE.get(ext)
    found = state.dataset.find_work(int(stem)) if stem.isdigit() else None
    if kind is None or found is None or kind not in found[1].file_types:
        return _json({"error": "Not found"}, 404)
    return Response(expected_file_bytes(stem, kind), media_type=MEDIA_TYPES[ext])


def _cdn_zip(request: Request, state: ServerState) -> Response:
    kinds: str = request.path_params["file_types"]
    try:
        work_ids = _work_ids(request.path_params["work_ids"])
        file_types = None if kinds == "all" else _file_types(kinds)
    except _APIError:
        return _json({"error": "Not found"}, 404)
    tasks = []
    for work_id in work_ids:
        found = state.dataset.find_work(work_id)
        if found is None:
            return _json({"error": "Not found"}, 404)
        tasks.append((work_id, found[1]))
    members = [
        (member_name(work_id, kind), expected_file_bytes(work_id, kind))
        for work_id, kind in download_members(tasks, file_types)
    ]
    return Response(build_zip(members), media_type=MEDIA_TYPES["zip"])


# -- /_fake/ controls -------------------------------------------------------------------------


async def _control_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _APIError(400, "Body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _APIError(400, "Body must be a JSON object")
    return body


def _seconds(body: dict[str, Any], name: str) -> float | None:
    for key, scale in ((name, 1.0), (f"{name}_ms", 0.001)):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise _APIError(400, f"{key} must be a non-negative number")
        return float(value) * scale
    return None


def apply_config(state: ServerState, body: dict[str, Any]) -> None:
    """Apply a ``POST /_fake/config`` body to ``state``; ValueError when it is invalid.

    Keys (all optional): ``latency``/``jitter`` in seconds (or ``latency_ms``/``jitter_ms``),
    ``clear_faults`` (bool), ``faults`` (a list of `Fault.from_dict` objects, queued), and
    ``fault_rate`` (``{"rate": 0.1, "faults": [...], "seed": 1, "path": ..., "method": ...}``,
    or null to switch random faults off).
    """
    try:
        latency = _seconds(body, "latency")
        jitter = _seconds(body, "jitter")
    except _APIError as error:
        raise ValueError(error.body["error"]) from None
    faults = [Fault.from_dict(item) for item in _list_of_objects(body.get("faults", []))]
    rate_config = body.get("fault_rate", ...)
    if latency is not None:
        state.latency = latency
    if jitter is not None:
        state.jitter = jitter
    if body.get("clear_faults"):
        state.faults.clear()
    state.faults.add(faults, path=None, method=None)
    if rate_config is None:
        state.faults.set_rate(0.0, (), seed=0, path=None, method=None)
    elif rate_config is not ...:
        if not isinstance(rate_config, dict):
            raise ValueError("fault_rate must be an object or null")
        rate = rate_config.get("rate", 0.0)
        seed = rate_config.get("seed", 0)
        if not isinstance(rate, (int, float)) or not isinstance(seed, int):
            raise ValueError("fault_rate.rate must be a number and fault_rate.seed an integer")
        rate_faults = [
            Fault.from_dict(item) for item in _list_of_objects(rate_config.get("faults"))
        ]
        state.faults.set_rate(
            float(rate),
            rate_faults or [Fault.status(500)],
            seed=seed,
            path=rate_config.get("path"),
            method=rate_config.get("method"),
        )


def _list_of_objects(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValueError("faults must be a list of objects")
    return value


def _control_routes(state: ServerState) -> list[Route]:
    async def stats(request: Request) -> Response:
        return _json(state.stats())

    async def requests(request: Request) -> Response:
        return _json([record.to_dict() for record in state.log.requests])

    async def reset(request: Request) -> Response:
        try:
            body = await _control_body(request)
        except _APIError as error:
            return _json(error.body, error.status)
        state.log.reset()
        state.faults.clear()
        if body.get("data"):
            for account in state.dataset.accounts:
                account.deleted_upload_ids.clear()
        return _json(state.stats())

    async def config(request: Request) -> Response:
        try:
            apply_config(state, await _control_body(request))
        except _APIError as error:
            return _json(error.body, error.status)
        except (ValueError, TypeError) as error:
            return _json({"error": str(error)}, 400)
        return _json(state.stats())

    return [
        Route("/_fake/stats", stats, methods=["GET"]),
        Route("/_fake/requests", requests, methods=["GET"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/config", config, methods=["POST"]),
    ]


# -- the app ----------------------------------------------------------------------------------


def build_app(state: ServerState) -> Starlette:
    """The Starlette app serving ``state``'s dataset."""

    def api(path: str, handler: Callable[[Request, ServerState], Response], method: str) -> Route:
        return Route(API_ROOT + path, _endpoint(state, handler), methods=[method])

    routes = [
        api("/assets", _list_assets, "GET"),
        api("/assets/", _list_assets, "GET"),
        api("/assets/uploaded", _list_uploads, "GET"),
        api("/assets/uploaded/", _list_uploads, "GET"),
        api("/assets/uploaded", _delete_uploads, "DELETE"),
        api("/assets/uploaded/", _delete_uploads, "DELETE"),
        api("/assets/download", _download, "GET"),
        api("/assets/download/", _download, "GET"),
        api("/elements/{element_id}", _get_element, "GET"),
        Route("/_cdn/works/{name}", _endpoint(state, _cdn_file), methods=["GET"]),
        Route(
            "/_cdn/zip/{work_ids}/{file_types}/download_result.zip",
            _endpoint(state, _cdn_zip),
            methods=["GET"],
        ),
        *_control_routes(state),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = "Method not allowed" if status == 405 else "Not found"
        return _json({"error": message}, status)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if state.started is not None:
            state.started.set()
        yield

    app = Starlette(
        routes=routes,
        middleware=[Middleware(_Instrumentation, state=state)],
        exception_handlers={404: http_error, 405: http_error},
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    return app
