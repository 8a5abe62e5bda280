"""The commands of the API's endpoints, one function each: ``handler(args) -> exit status``.

Each takes the namespace `kling_async.cli._parser.build_parser` made. Options go to the SDK
by keyword; only the IDs a call is about go by position.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from .._client import KlingClient
from .._converter import unstructure
from .._params import normalize_ids
from .._redact import redact_text
from ._run import call, print_json, secrets_of

__all__ = ["assets_list", "elements_get", "uploads_delete", "uploads_list"]


# -- read-only commands ---------------------------------------------------------------------------


def assets_list(args: argparse.Namespace) -> int:
    """``assets list``: print one page of generated works as JSON."""
    return _show(
        args,
        lambda client: client.assets.list(
            page_num=args.page,
            page_size=args.page_size,
            content_type=args.content_type,
            email=args.email,
            sort=args.sort,
        ),
    )


def uploads_list(args: argparse.Namespace) -> int:
    """``uploads list``: print one page of uploaded files as JSON."""
    return _show(
        args,
        lambda client: client.uploads.list(
            page_num=args.page,
            page_size=args.page_size,
            content_type=args.content_type,
            file_name=args.file_name,
            email=args.email,
            sort=args.sort,
        ),
    )


def elements_get(args: argparse.Namespace) -> int:
    """``elements get``: print one element as JSON."""
    return _show(args, lambda client: client.elements.get(args.element_id, email=args.email))


def uploads_delete(args: argparse.Namespace) -> int:
    """``uploads delete``: delete uploads 10 per call; print what was deleted, failed or not."""
    from .. import batch

    ids = normalize_ids(args.ids, name="ID")  # every ID is checked before any request
    result = call(args, lambda client: batch.delete_uploaded(client, ids, email=args.email))
    failed = [
        {"ids": list(chunk.ids), "error": redact_text(str(chunk.error), *secrets_of(args))}
        for chunk in result.chunks
        if chunk.error is not None
    ]
    print_json(
        {
            "deleted": list(result.succeeded_ids),
            "unconfirmed": list(result.unconfirmed_ids),
            "failed": failed,
        }
    )
    return 0 if result.ok else 1


# -- what the commands share ----------------------------------------------------------------------


def _show(args: argparse.Namespace, command: Callable[[KlingClient], Awaitable[Any]]) -> int:
    """Run ``command`` as `call` does and print what it returns as JSON, in the wire form."""
    print_json(unstructure(call(args, command)))
    return 0
