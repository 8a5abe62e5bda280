"""Every work of every account into a folder, as ``kling-async export`` does, from Python."""

from pathlib import Path

import anyio

from kling_async import KlingClient
from kling_async.export import ExportReport, export_works, verify_export


async def main(folder: Path = Path("my-works")) -> ExportReport:
    """Export (or resume, or bring up to date) ``folder``, then check it against its manifest."""
    async with KlingClient() as client:  # no email=: every account of the subscription
        report = await export_works(client, folder, new_only=True, file_type="MP4")
    for account in report.accounts.values():
        print(account.account, account.listed, "listed,", account.downloaded, "downloaded")
    for failure in report.failed:
        print("failed:", failure.account, failure.work_id, failure.reason)
    checked = await verify_export(folder)
    print("folder matches its manifest" if checked.ok else f"{len(checked.changed)} changed")
    return report


if __name__ == "__main__":
    anyio.run(main)
