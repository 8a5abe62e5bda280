"""Standalone fake server: ``python -m kling_async.testing --port 0 --accounts 3 ...``.

Once listening it prints one JSON line to stdout, ``{"base_url": ..., "url": ..., "token": ...,
"emails": [...]}``, then serves until SIGINT or SIGTERM. ``<url>/_fake/stats``,
``/_fake/reset`` and ``/_fake/config`` control it from outside.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ._server import run

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line parser of the standalone server."""
    parser = argparse.ArgumentParser(
        prog="python -m kling_async.testing",
        description="Serve a fake useapi.net Kling API until SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--accounts", type=int, default=3, help="Kling accounts (default 3)")
    parser.add_argument("--works", type=int, default=120, help="works per account")
    parser.add_argument("--uploads", type=int, default=30, help="uploaded assets per account")
    parser.add_argument("--elements", type=int, default=5, help="elements per account")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay per API request")
    parser.add_argument("--jitter-ms", type=float, default=0.0, help="random +/- on the delay")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    parser.add_argument("--token", default=None, help="API token to accept (default: derived)")
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--access-log", action="store_true", help="log requests to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.access_log:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    try:
        run(
            host=args.host,
            port=args.port,
            accounts=args.accounts,
            works_per_account=args.works,
            uploads_per_account=args.uploads,
            elements_per_account=args.elements,
            seed=args.seed,
            latency=args.latency_ms / 1000,
            jitter=args.jitter_ms / 1000,
            token=args.token,
            backend=args.backend,
            access_log=args.access_log,
        )
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
