"""A fake useapi.net Kling server for tests, demos and benchmarks (the ``testing`` extra).

It speaks real HTTP on loopback (hypercorn serving a Starlette app) under asyncio or trio,
from a seeded dataset, with adjustable latency and scripted or random faults::

    from kling_async.testing import FakeKlingServer, Fault

    async with FakeKlingServer(accounts=2, works_per_account=200, seed=1) as fake:
        fake.add_faults(Fault.status(429, retry_after=1), path="/assets")
        ...  # point a client at fake.base_url with fake.token

Run one in its own process with ``python -m kling_async.testing --help``.

Error statuses where the service's documentation is silent: an unknown ``email`` is 404, an
unknown work ID in a download is 404, an unknown element is 404, a requested file type the
work does not offer is 400, and deleting IDs that do not exist is not an error (they are
simply not in ``ids``). GET /accounts/{email} matches the email in any case; its 404 for an
unknown account, like every error, has an ``{"error": ...}`` body.
"""

from ._data import (
    CONTENT_TYPES,
    FILE_TYPES,
    AccountData,
    Dataset,
    ElementRecord,
    TaskRecord,
    UploadRecord,
)
from ._faults import Fault
from ._files import build_zip, expected_file_bytes
from ._server import FAST_RETRY, FakeKlingServer, print_startup_line, run, serve_forever
from ._stats import RecordedRequest

__all__ = [
    "CONTENT_TYPES",
    "FAST_RETRY",
    "FILE_TYPES",
    "AccountData",
    "Dataset",
    "ElementRecord",
    "FakeKlingServer",
    "Fault",
    "RecordedRequest",
    "TaskRecord",
    "UploadRecord",
    "build_zip",
    "expected_file_bytes",
    "print_startup_line",
    "run",
    "serve_forever",
]
