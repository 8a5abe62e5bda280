"""Asking before a delete that cannot be undone: ``--yes``, a terminal, or no delete at all.

A delete command goes through three steps, in this order, before it sends anything:

1. `check_can_confirm`: without ``--yes``, stdin must be a terminal to answer on; otherwise
   the command stops with exit status 2 (nothing is deleted silently from a script or a pipe:
   it must say ``--yes``).
2. `preview`: what will be deleted, on stderr (stdout is for the outcome, or the JSON).
3. `ask`: without ``--yes``, the question on stderr, the answer a line of stdin; anything but
   ``y`` or ``yes`` is a no (`Declined`, exit status 1, nothing deleted).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ._run import Declined, UsageError

__all__ = ["PREVIEW_SHOWN", "ask", "check_can_confirm", "preview"]

PREVIEW_SHOWN = 20
"""The preview lists this many IDs, then how many more (``--dry-run`` lists them all)."""


def check_can_confirm(*, yes: bool, what: str) -> None:
    """Raise `UsageError` when there is no ``--yes`` and no terminal to ask on.

    ``what`` names what would be deleted, e.g. ``"3 tasks"``.
    """
    if not yes and not sys.stdin.isatty():
        raise UsageError(
            f"not deleting {what} without confirmation: stdin is not a terminal to ask on; "
            "pass --yes to delete (or --dry-run to see what would be deleted)"
        )


def preview(heading: str, ids: Sequence[str]) -> None:
    """Print ``heading`` and the IDs (the first `PREVIEW_SHOWN`) on stderr."""
    lines = [heading, *(f"  {id_}" for id_ in ids[:PREVIEW_SHOWN])]
    if len(ids) > PREVIEW_SHOWN:
        lines.append(f"  ... and {len(ids) - PREVIEW_SHOWN} more (--dry-run lists them all)")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def ask(question: str, *, yes: bool) -> None:
    """Without ``yes``, ask ``question`` on stderr; raise `Declined` unless the answer is yes."""
    if yes:
        return
    try:
        sys.stderr.write(f"{question} This cannot be undone [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
    except KeyboardInterrupt:  # Ctrl-C, even before the reading began: "interrupted" goes
        sys.stderr.write("\n")  # on a line of its own
        raise
    if not answer.endswith("\n"):  # the end of input (Ctrl-D): a no, and a line of its own
        sys.stderr.write("\n")
    if answer.strip().lower() not in {"y", "yes"}:
        raise Declined("not confirmed: nothing was deleted")
