"""Exporting every work of one or more accounts to a folder, resumably and verifiably.

The job behind ``kling-async export``, as a library::

    from kling_async import KlingClient
    from kling_async.export import export_works

    async with KlingClient() as client:
        report = await export_works(client, "my-works", file_type="MP4")
        print(report.downloaded, "downloaded,", len(report.failed), "failed")

`export_works` holds a lock on the folder, trusts only files that match their manifest line,
lists ahead of the downloads, and reports progress through an `ExportProgress`;
`verify_export` checks a folder against its manifest. Exporting needs filelock (the
``export`` extra, included in ``cli``).
"""

from ._layout import (
    DEFAULT_FOLDER,
    FAILED_NAME,
    LOCK_NAME,
    MANIFEST_NAME,
    choose_file_type,
    folder_for,
)
from ._manifest import ManifestEntry
from ._report import (
    AccountReport,
    ExportProgress,
    ExportReport,
    FailedListing,
    FailedWork,
    Outcome,
)
from ._runner import export_works
from ._verify import VerifyReport, verify_export

__all__ = [
    "DEFAULT_FOLDER",
    "FAILED_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "AccountReport",
    "ExportProgress",
    "ExportReport",
    "FailedListing",
    "FailedWork",
    "ManifestEntry",
    "Outcome",
    "VerifyReport",
    "choose_file_type",
    "export_works",
    "folder_for",
    "verify_export",
]
