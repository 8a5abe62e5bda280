"""How a command runs and how its end is told: the client, the event loop, Ctrl-C, exit statuses.

Exit statuses: 0 success, 1 the service, the network or the disk failed (or a needed extra is
missing; a refused token too; or a delete was not confirmed; or stdout's reader went away,
which is not reported), 2 bad usage or bad input (nothing
was sent, a delete without --yes and no terminal included) or an export folder another export
holds (nothing was changed), 130 interrupted. A failure is one line on stderr,
with every token hidden.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import anyio
import orjson

from .._client import KlingClient
from .._exceptions import (
    AuthenticationError,
    ExportLockedError,
    InvalidInputError,
    KlingError,
    PaymentRequiredError,
)
from .._http import httpx
from .._redact import redact_text

__all__ = [
    "PROG",
    "TOKEN_HINT",
    "Declined",
    "MissingExtra",
    "UsageError",
    "call",
    "check_http",
    "exit_status",
    "locked_message",
    "make_client",
    "print_json",
    "redacted",
    "report",
    "run_on_loop",
    "secrets_of",
]

PROG = "kling-async"
TOKEN_HINT = "check USEAPI_TOKEN (or --token)"
T = TypeVar("T")


class UsageError(Exception):
    """A problem with how the command was called: exit status 2."""


class MissingExtra(Exception):
    """An optional dependency the command needs is not installed: exit status 1."""


class Declined(Exception):
    """The question before a delete was not answered yes: exit status 1, nothing deleted."""


def secrets_of(args: argparse.Namespace) -> list[str | None]:
    """The tokens a command may meet in what it prints: ``--token`` and USEAPI_TOKEN."""
    return [args.token, os.environ.get("USEAPI_TOKEN")]


def make_client(args: argparse.Namespace) -> KlingClient:
    """A client made from the global options; no token at all is a `UsageError`."""
    if args.token is None and not os.environ.get("USEAPI_TOKEN", "").strip():
        raise UsageError("no API token: set the USEAPI_TOKEN environment variable (or --token)")
    check_http(args)
    return KlingClient(
        token=args.token,
        base_url=args.base_url,
        timeout=args.timeout,
        max_retries=args.max_retries,
        http=args.http,
    )


def check_http(args: argparse.Namespace) -> None:
    """Raise `UsageError` for a transport the chosen event loop cannot run."""
    if args.http == "aiohttp" and args.backend != "asyncio":
        raise UsageError("--http aiohttp runs on asyncio only: drop --backend trio")


def call(
    args: argparse.Namespace,
    command: Callable[[KlingClient], Awaitable[T]],
    *,
    client: KlingClient | None = None,
) -> T:
    """Run ``command`` on the chosen event loop with ``client``, which is closed when it ends.

    The client is by default one made from the global options (`make_client`).
    """
    client = make_client(args) if client is None else client

    async def run() -> T:
        async with client:
            return await command(client)

    return run_on_loop(run, args.backend)


def print_json(data: object) -> None:
    """Print ``data`` as indented JSON on stdout."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def redacted(value: Any, secrets: Sequence[str | None]) -> Any:
    """A JSON-ready value with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact_text(value, *secrets)
    if isinstance(value, dict):
        return {redacted(key, secrets): redacted(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item, secrets) for item in value]
    return value


def run_on_loop(func: Callable[[], Awaitable[T]], backend: str) -> T:
    """Run ``func`` on the event loop; Ctrl-C cancels it cleanly, then raises KeyboardInterrupt.

    The SIGINT is taken through anyio, so an interrupted command unwinds by cancellation
    (``.part`` files removed, connections closed) the same way on asyncio and trio, on every
    Python version, instead of each loop's own way of surfacing a KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        return anyio.run(func, backend=backend)  # signals can only be caught on the main thread
    interrupted = False

    async def guarded() -> T:
        nonlocal interrupted
        outcome: list[T] = []

        async def watch_sigint(scope: anyio.CancelScope) -> None:
            nonlocal interrupted
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    interrupted = True
                    scope.cancel()
                    return

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch_sigint, tg.cancel_scope)
            outcome.append(await func())
            tg.cancel_scope.cancel()
        if interrupted or not outcome:
            raise KeyboardInterrupt
        return outcome[0]

    return anyio.run(guarded, backend=backend)


def exit_status(error: BaseException, secrets: Sequence[str | None]) -> int:
    """Report a command's failure in one line and return its exit status.

    Raises ``error`` again when it is none of the failures a command can meet (a bug).
    """
    leaves = list(_leaves(error))
    if any(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
        return report("interrupted", 130, secrets)
    leaf = leaves[0] if len(leaves) == 1 else error
    if isinstance(leaf, BrokenPipeError):  # the reader of stdout has gone (`| head`): no more
        _silence_stdout()
        return 1
    if isinstance(leaf, (UsageError, InvalidInputError)):
        return report(f"error: {leaf}", 2, secrets)
    if isinstance(leaf, Declined):
        return report(str(leaf), 1, secrets)
    if isinstance(leaf, ExportLockedError):
        return report(f"error: {locked_message(leaf)}", 2, secrets)
    if isinstance(leaf, AuthenticationError):
        return report(f"error: {leaf}; {TOKEN_HINT}", 1, secrets)
    if isinstance(leaf, PaymentRequiredError):
        return report(f"error: {leaf}; {TOKEN_HINT} and its useapi.net subscription", 1, secrets)
    if isinstance(leaf, (KlingError, OSError, httpx.HTTPError, MissingExtra)):
        return report(f"error: {leaf}", 1, secrets)
    raise error


def locked_message(error: ExportLockedError) -> str:
    """Which export holds the folder: pid, host and start time, as far as they are known."""
    pid = error.pid if error.pid is not None else "unknown"
    host = error.host or "an unknown host"
    started = (
        error.started.isoformat(timespec="seconds") if error.started is not None else "unknown"
    )
    return (
        f"{error.lock_path.parent} is being exported by another run (pid {pid} on {host}, "
        f"started {started}); nothing was changed"
    )


def report(message: str, status: int, secrets: Sequence[str | None]) -> int:
    """Print ``message`` as one line on stderr, tokens hidden; return ``status``."""
    print(f"{PROG}: {redact_text(' '.join(message.split()), *secrets)}", file=sys.stderr)
    return status


def _silence_stdout() -> None:
    """Send what is left of stdout nowhere: flushing it at exit would fail on the broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout without a file descriptor: nothing to flush there
        pass


def _leaves(error: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, or the error itself."""
    members = getattr(error, "exceptions", None)
    if isinstance(members, tuple) and members:
        for member in members:
            yield from _leaves(member)
    else:
        yield error
