"""``python -m kling_async``: the ``kling-async`` command line."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
