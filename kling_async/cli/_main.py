"""``kling-async`` from argv to exit status: parse, run the command, report how it ended."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence

from .._redact import redact_text
from ._parser import build_parser
from ._run import exit_status

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kling-async`` with ``argv`` (default: the process's arguments); return the status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    secrets = [os.environ.get("USEAPI_TOKEN"), *_token_arguments(argv)]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        # A misplaced or misspelt --token is echoed by argparse: never let it through.
        sys.stderr.write(redact_text(errors.getvalue(), *secrets))
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None) * 2
    args.argv = argv  # what the user ran: an interrupted export says how to resume it
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except BaseException as error:
        return exit_status(error, secrets)


def _token_arguments(argv: Sequence[str]) -> list[str]:
    """The values given to ``--token``, or to anything like it, on the command line.

    An option no parser knows is echoed in argparse's error: one that looks like ``--token``
    (``--t``, ``--tok``, ``--tokne``) most likely carries one.
    """
    found = []
    for index, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if name == "--t" or name.startswith("--to"):
            if equals:
                found.append(value)
            elif index + 1 < len(argv):
                found.append(argv[index + 1])
    return found
