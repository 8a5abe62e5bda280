"""The fake server's instrumentation: recording, latency, faults and auth, before routing.

It records API and CDN requests, then holds API requests for the configured latency, answers
with a pending fault where one matches, and checks the token of API requests.

``/_fake/`` control requests pass through untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

import anyio
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._faults import Fault
from ._paths import CDN_ROOT, api_path
from ._state import ServerState
from ._stats import RecordedRequest, RequestLog

__all__ = ["Instrumentation", "recorded_request"]

_RECORD_KEY = "kling_async.fake.record"
_UNAUTHORIZED_BODY = orjson.dumps({"error": "Unauthorized", "code": 401})
# A body that starts like an assets page and stops in the middle: not JSON.
_MALFORMED_BODY = b'{"limitations": [], "history": [{"works": [{"workId": 3200'
_DROP_BODY = b'{"limitations": [], "history": ['
# What a corrupt_gzip fault sends under Content-Encoding: gzip (gzip starts with 1f 8b).
_NOT_GZIP_BODY = b"this is not gzip"


def recorded_request(scope: Scope) -> RecordedRequest | None:
    """The log entry `Instrumentation` made for the request of ``scope``, if any."""
    record = scope.get(_RECORD_KEY)
    return record if isinstance(record, RecordedRequest) else None


class Instrumentation:
    """ASGI middleware: records API and CDN requests, then applies latency, faults and auth."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"] if scope["type"] == "http" else ""
        under_api = api_path(path)
        if under_api is None and not path.startswith(CDN_ROOT + "/"):
            await self.app(scope, receive, send)
            return
        record = _arrive(self.state.log, scope)
        body = _RequestBody(receive, scope)
        try:
            respond = body.read_before_answering(_recording(send, record, self.state.log))
            await self._answer(scope, body.receive, respond, record, under_api)
        finally:
            self.state.log.finish(record)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RecordedRequest,
        under_api: str | None,
    ) -> None:
        """Hold an API request for the latency, then answer with a fault or the app."""
        state = self.state
        is_api = under_api is not None
        if is_api:
            delay = state.next_delay()
            if delay > 0:
                await anyio.sleep(delay)
        fault = state.faults.take(scope["method"], under_api or scope["path"], is_api=is_api)
        respond = send
        captured: _CapturedResponse | None = None
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "delay":
                await anyio.sleep(fault.seconds)
            elif fault.kind == "truncated":
                captured = _CapturedResponse()
                respond = captured.send
            else:
                await self._inject(fault, receive, send)
                return
        if is_api and not self._authorized(scope):
            await _send_body(respond, 401, _UNAUTHORIZED_BODY, "application/json")
        else:
            await self.app(scope, receive, respond)
        if captured is not None:
            await captured.send_half(send)

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


class _RequestBody:
    """The request body as the app reads it; what the app left unread is read before answering.

    A server that answers before it has read the request body (an error, a fault) still reads
    the rest, and drops it: hypercorn closes the connection once a response is complete, and
    closing with unread bytes resets it, so a client still sending the body would lose the
    answer. Real servers do the same (a "lingering close").
    """

    def __init__(self, receive: Receive, scope: Scope) -> None:
        self._receive = receive
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        self._done = b"transfer-encoding" not in headers and length.strip() in (b"", b"0")

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._done = True
        return message

    def read_before_answering(self, send: Send) -> Send:
        """``send``, reading what is left of the body before a response starts."""

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                with anyio.move_on_after(_DRAIN_SECONDS):
                    while not self._done:
                        await self.receive()
            await send(message)

        return sending


_DRAIN_SECONDS = 30.0


def _arrive(log: RequestLog, scope: Scope) -> RecordedRequest:
    """Log the request of ``scope`` as in flight, and attach the entry to the scope."""
    raw_path = scope.get("raw_path")
    record = log.arrive(
        scope["method"],
        scope["path"],
        dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)),
        raw_path=raw_path.decode("latin-1") if isinstance(raw_path, bytes) else None,
        headers={
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        },
    )
    scope[_RECORD_KEY] = record
    return record


def _recording(send: Send, record: RecordedRequest, log: RequestLog) -> Send:
    """``send``, noting the status in ``record`` once the whole response is handed over."""
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
            log.finish(record)
        await send(message)

    return recording_send


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
