"""`FakeKlingServer`: the fake app served over real HTTP on loopback by hypercorn."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import anyio
import orjson
from hypercorn.config import Config

from .._client import KlingClient
from .._retry import RetryPolicy
from ._app import build_app
from ._data import Dataset, build_dataset, make_token
from ._faults import Fault
from ._files import expected_file_bytes, find_works, zip_members
from ._paths import API_ROOT
from ._state import ServerState
from ._stats import RecordedRequest

__all__ = ["FAST_RETRY", "FakeKlingServer", "run", "serve_forever"]

FAST_RETRY = RetryPolicy(backoff_initial=0.001, backoff_max=0.01, rate_limit_wait=0.01, jitter=0)
"""The retry policy of `FakeKlingServer.client`: the default number of retries, with waits of
milliseconds, so tests that inject 429s and 5xx do not sleep (a ``Retry-After`` is still
honoured)."""

_logger = logging.getLogger("kling_async.testing")
_access_logger = logging.getLogger("kling_async.testing.access")
# Seconds hypercorn lets open requests finish on exit, and the limit on the whole stop.
_GRACEFUL_TIMEOUT = 0.5
_STOP_TIMEOUT = 5.0


class FakeKlingServer:
    """A fake useapi.net Kling API on a real loopback port, for tests, demos and benchmarks.

    It serves GET /assets, POST /assets (uploads, which GET /assets/uploaded then lists), GET
    and DELETE /assets/uploaded, GET /assets/download (with the files behind each ``cdnUrl``),
    GET /elements, GET /elements/{elementId}, GET /accounts,
    GET /accounts/{email}, GET /scheduler/available, GET /tasks, GET /tasks/{task_id} and DELETE
    /tasks/{task_id} from a seeded dataset, on whichever of
    asyncio and trio runs it. Latency, jitter and faults can be changed while it runs.

    Example::

        async with FakeKlingServer(accounts=2, seed=7) as fake, fake.client() as client:
            page = await client.assets.list()  # the first account's works
            assert fake.requests[-1].email == fake.emails[0]

    Or over plain HTTP::

        async with FakeKlingServer(accounts=1, seed=7) as fake:
            async with httpx.AsyncClient(base_url=fake.base_url) as http:
                headers = {"Authorization": f"Bearer {fake.token}"}
                page = (await http.get("/assets", headers=headers)).json()
            assert len(fake.requests) == 1

    Args:
        accounts: how many Kling accounts (emails) the subscription holds.
        works_per_account: generated works per account (a video or audio task holds one,
            an image task one to four).
        uploads_per_account: uploaded assets per account.
        elements_per_account: elements per account.
        seed: everything generated derives from it; the same seed gives byte-identical
            responses (apart from ``cdnUrl``, which names the server's port).
        latency: seconds every API request is held before it is answered.
        jitter: up to this many seconds more or less than ``latency``, from a seeded RNG.
        token: the one valid API token; by default a realistic one derived from ``seed``.
        host: interface to listen on.
        port: port to listen on; 0 picks a free one.
        access_log: log each request to the ``kling_async.testing.access`` logger (INFO).
    """

    def __init__(
        self,
        *,
        accounts: int = 3,
        works_per_account: int = 120,
        uploads_per_account: int = 30,
        elements_per_account: int = 5,
        seed: int = 0,
        latency: float = 0.0,
        jitter: float = 0.0,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: bool = False,
    ) -> None:
        if token is not None and (not token or any(ch.isspace() for ch in token)):
            raise ValueError("token must be a non-empty string without whitespace")
        dataset = build_dataset(
            accounts=accounts,
            works_per_account=works_per_account,
            uploads_per_account=uploads_per_account,
            elements_per_account=elements_per_account,
            seed=seed,
        )
        self._state = ServerState(
            dataset,
            token if token is not None else make_token(seed),
            latency=_non_negative("latency", latency),
            jitter=_non_negative("jitter", jitter),
            seed=seed,
        )
        self._app = build_app(self._state)
        self._host = host
        self._wanted_port = port
        self._port: int | None = None
        self._access_log = access_log
        self._running: contextlib.AbstractAsyncContextManager[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeKlingServer:
        if self._running is not None:
            raise RuntimeError("this FakeKlingServer is already running")
        running = self._serving()
        await running.__aenter__()
        self._running = running
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        running, self._running = self._running, None
        if running is None:
            return None
        return await running.__aexit__(exc_type, exc_value, traceback)

    @contextlib.asynccontextmanager
    async def _serving(self) -> AsyncIterator[None]:
        listener = self._listen()
        state = self._state
        state.begin_run()
        assert state.started is not None
        assert state.closing is not None
        shutdown = anyio.Event()
        stopped = anyio.Event()
        # hypercorn runs shielded: cancelling it from outside makes it leak tasks and sockets
        # (and, on asyncio, raise), so it is only ever stopped through its shutdown trigger,
        # or cancelled through this scope as a last resort.
        hypercorn_scope = anyio.CancelScope(shield=True)
        body_error: BaseException | None = None
        try:
            async with anyio.create_task_group() as group:
                try:
                    # hypercorn gets its own descriptor for the socket and closes it when it
                    # stops; ours keeps the port until hypercorn is done.
                    fd = os.dup(listener.fileno())
                    group.start_soon(self._serve, fd, shutdown.wait, stopped, hypercorn_scope)
                    await state.started.wait()
                    self._port = listener.getsockname()[1]
                    try:
                        yield
                    except BaseException as error:
                        body_error = error
                        raise
                finally:
                    # Release hanging requests first, so the graceful shutdown has nothing
                    # left to wait for.
                    state.closing.set()
                    shutdown.set()
                    with anyio.CancelScope(shield=True):
                        with anyio.move_on_after(_STOP_TIMEOUT):
                            await stopped.wait()
                        hypercorn_scope.cancel()
        except BaseException as error:
            # trio wraps the body's own exception in an ExceptionGroup: give it back bare.
            if body_error is not None and _sole_exception(error) is body_error:
                raise body_error from body_error.__cause__
            raise
        finally:
            self._port = None
            listener.close()

    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._host, self._wanted_port))
            # Listening now lets clients connect (into the backlog) before hypercorn accepts.
            listener.listen(128)
        except BaseException:
            listener.close()
            raise
        return listener

    async def _serve(
        self,
        fd: int,
        shutdown_trigger: Callable[[], Any],
        stopped: anyio.Event,
        scope: anyio.CancelScope,
    ) -> None:
        try:
            with scope:
                await self._run_hypercorn(fd, shutdown_trigger)
        finally:
            stopped.set()

    async def _run_hypercorn(self, fd: int, shutdown_trigger: Callable[[], Any]) -> None:
        config = Config()
        config.bind = [f"fd://{fd}"]
        config.errorlog = _logger
        config.accesslog = _access_logger if self._access_log else None
        config.loglevel = "WARNING"
        config.graceful_timeout = _GRACEFUL_TIMEOUT
        app: Any = self._app  # Starlette's ASGI types are looser than hypercorn's
        if _current_async_library() == "trio":
            from hypercorn.trio import serve as serve_on_trio

            await serve_on_trio(app, config, shutdown_trigger=shutdown_trigger)
        else:
            from hypercorn.asyncio import serve as serve_on_asyncio

            await serve_on_asyncio(app, config, shutdown_trigger=shutdown_trigger)

    @property
    def running(self) -> bool:
        """Whether the server is serving (inside ``async with``)."""
        return self._port is not None

    # -- addresses and credentials ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on (only while running)."""
        if self._port is None:
            raise RuntimeError("the FakeKlingServer is not running; use it with `async with`")
        return self._port

    @property
    def url(self) -> str:
        """The server root, e.g. ``"http://127.0.0.1:54321"`` (only while running)."""
        host = self._host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root, e.g. ``"http://127.0.0.1:54321/v1/kling"`` (only while running)."""
        return self.url + API_ROOT

    @property
    def token(self) -> str:
        """The one API token the server accepts (as ``Authorization: Bearer <token>``)."""
        return self._state.token

    @property
    def emails(self) -> tuple[str, ...]:
        """The accounts' emails, in order."""
        return self._state.dataset.emails

    def client(self, **options: Any) -> KlingClient:
        """A `KlingClient` for this server, to use as ``async with fake.client() as client:``.

        It has the server's token and base URL, its first account as the default ``email``,
        and `FAST_RETRY`. ``options`` are any other `KlingClient` arguments, and override these
        (``email=None`` for a client without a default account).
        """
        settings: dict[str, Any] = {"email": self.emails[0] if self.emails else None}
        settings["retry"] = FAST_RETRY
        settings.update(options)
        return KlingClient(self.token, base_url=self.base_url, **settings)

    @property
    def data(self) -> Dataset:
        """The seeded dataset, for assertions (deletes through the API show up in it)."""
        return self._state.dataset

    def startup_info(self) -> dict[str, Any]:
        """What the standalone server prints once listening: base_url, url, token, emails."""
        return {
            "base_url": self.base_url,
            "url": self.url,
            "token": self.token,
            "emails": list(self.emails),
        }

    # -- latency ------------------------------------------------------------------------------

    @property
    def latency(self) -> float:
        """Seconds every API request is held before it is answered; settable at any time."""
        return self._state.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._state.latency = _non_negative("latency", value)

    @property
    def jitter(self) -> float:
        """Up to this many seconds more or less than `latency`; settable at any time."""
        return self._state.jitter

    @jitter.setter
    def jitter(self, value: float) -> None:
        self._state.jitter = _non_negative("jitter", value)

    # -- request log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the API and CDN requests received since the last `reset_stats`."""
        return list(self._state.log.requests)

    @property
    def in_flight(self) -> int:
        """How many API and CDN requests are being handled right now."""
        return self._state.log.in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests in flight at once since the last `reset_stats`."""
        return self._state.log.max_in_flight

    def reset_stats(self) -> None:
        """Forget recorded requests and restart `max_in_flight` from the current count."""
        self._state.log.reset()

    async def wait_for_requests(self, count: int) -> None:
        """Return once ``count`` requests have arrived since the last `reset_stats`.

        It returns as soon as the request arrives, before it is answered.
        """
        await self._state.log.wait_for_requests(count)

    async def wait_in_flight(self, count: int) -> None:
        """Return once ``count`` requests have been in flight at the same time.

        Counted since the last `reset_stats`; it returns at once if that already happened.
        """
        await self._state.log.wait_in_flight(count)

    async def wait_idle(self) -> None:
        """Return once no request is in flight (at once if none is).

        Useful after a client gave up on a request: the server notices the disconnect a
        moment later.
        """
        await self._state.log.wait_idle()

    # -- faults -------------------------------------------------------------------------------

    def add_faults(
        self, *faults: Fault, path: str | None = None, method: str | None = None
    ) -> None:
        """Queue faults; each is consumed by the next request it matches, in order.

        Args:
            faults: the faults, e.g. ``Fault.status(429, retry_after=2)``.
            path: when given, limits all of them to paths under ``/v1/kling`` starting with it.
            method: when given, limits all of them to this HTTP method.
        """
        self._state.faults.add(faults, path=path, method=method)

    def set_fault_rate(
        self,
        rate: float,
        faults: Sequence[Fault] | None = None,
        *,
        seed: int = 0,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer a random ``rate`` fraction of matching requests with one of ``faults``.

        Scripted faults (`add_faults`) are used first. ``faults`` defaults to a plain 500;
        a rate of 0 switches random faults off. The draws come from an RNG seeded with ``seed``.
        """
        chosen = list(faults) if faults is not None else [Fault.status(500)]
        self._state.faults.set_rate(rate, chosen, seed=seed, path=path, method=method)

    def clear_faults(self) -> None:
        """Drop every pending scripted fault and switch random faults off."""
        self._state.faults.clear()

    @property
    def pending_faults(self) -> tuple[Fault, ...]:
        """Scripted faults not consumed yet, in order."""
        return self._state.faults.pending

    # -- data helpers -------------------------------------------------------------------------

    def reset_data(self) -> None:
        """Bring back every upload deleted through the API; forget those uploaded through it."""
        self._state.reset_data()

    def expected_file_bytes(self, work_id: int | str, file_type: str) -> bytes:
        """The bytes the download of one work's ``file_type`` (MP4, MP3, WAV, PNG) serves."""
        return expected_file_bytes(work_id, file_type)

    def expected_zip_members(
        self, work_ids: Iterable[int | str], file_types: Iterable[str] | None = None
    ) -> dict[str, bytes]:
        """The ``{"<workId>.<ext>": bytes}`` members of a download zip, in archive order.

        Mirrors the download endpoint: without ``file_types`` each work contributes every
        type it offers, otherwise the requested types it offers.
        """
        tasks = find_works(self._state.dataset, dict.fromkeys(int(work_id) for work_id in work_ids))
        kinds = None
        if file_types is not None:
            kinds = list(dict.fromkeys(kind.strip().upper() for kind in file_types))
        return dict(zip_members(tasks, kinds))


def _current_async_library() -> str:
    try:
        import sniffio
    except ImportError:  # pragma: no cover - trio depends on sniffio, so this is asyncio
        return "asyncio"
    return sniffio.current_async_library()


def _non_negative(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of at least 0, not {value!r}")
    return float(value)


def _sole_exception(error: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups."""
    while True:
        members = getattr(error, "exceptions", None)
        if not isinstance(members, tuple) or len(members) != 1:
            return error
        error = members[0]


async def serve_forever(
    server: FakeKlingServer,
    *,
    on_ready: Callable[[FakeKlingServer], object] | None = None,
) -> None:
    """Run ``server`` until SIGINT or SIGTERM (or until cancelled), then stop it cleanly.

    ``on_ready`` is called once the server listens; the standalone mode prints
    `FakeKlingServer.startup_info` there.
    """
    with contextlib.ExitStack() as stack:
        signals: AsyncIterator[signal.Signals] | None
        try:
            signals = stack.enter_context(anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM))
        except NotImplementedError:  # pragma: no cover - asyncio on Windows
            signals = None
        async with server:
            if on_ready is not None:
                on_ready(server)
            if signals is None:  # pragma: no cover
                await anyio.sleep_forever()
            else:
                async for _ in signals:
                    break


def print_startup_line(server: FakeKlingServer) -> None:
    """Print `FakeKlingServer.startup_info` as one JSON line on stdout, and flush."""
    sys.stdout.write(orjson.dumps(server.startup_info()).decode() + "\n")
    sys.stdout.flush()


def run(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    accounts: int = 3,
    works_per_account: int = 120,
    uploads_per_account: int = 30,
    elements_per_account: int = 5,
    seed: int = 0,
    latency: float = 0.0,
    jitter: float = 0.0,
    token: str | None = None,
    backend: str = "asyncio",
    access_log: bool = False,
    on_ready: Callable[[FakeKlingServer], object] | None = print_startup_line,
) -> None:
    """Serve a fake in this process until SIGINT/SIGTERM (blocking; the standalone mode).

    By default it prints one JSON line ``{"base_url", "url", "token", "emails"}`` to stdout
    once listening. ``backend`` is ``"asyncio"`` or ``"trio"``.
    """
    server = FakeKlingServer(
        accounts=accounts,
        works_per_account=works_per_account,
        uploads_per_account=uploads_per_account,
        elements_per_account=elements_per_account,
        seed=seed,
        latency=latency,
        jitter=jitter,
        token=token,
        host=host,
        port=port,
        access_log=access_log,
    )

    async def main() -> None:
        await serve_forever(server, on_ready=on_ready)

    anyio.run(main, backend=backend)
