"""Delete the uploads and generation tasks older than a cutoff, on every account, safely."""

from datetime import datetime, timedelta, timezone

import anyio

from kling_async import KlingClient, batch


async def main(older_than: timedelta = timedelta(days=90), *, dry_run: bool = True) -> None:
    """Say what would go; with ``dry_run=False``, delete it and report every ID's fate."""
    cutoff = datetime.now(timezone.utc) - older_than
    async with KlingClient() as client:
        for account in await client.accounts.list():
            email = account.email
            uploads = [
                asset.id
                async for asset in client.uploads.iter_assets(email=email)
                if asset.created_at is not None and asset.created_at < cutoff
            ]
            tasks = [
                entry.task_id
                async for entry in client.tasks.iter_tasks(email=email, created_before=cutoff)
                if entry.task_id is not None
            ]
            print(f"{email}: {len(uploads)} uploads, {len(tasks)} tasks before {cutoff:%Y-%m-%d}")
            if dry_run:
                continue

            # Ten uploads per call, a few calls at a time, at most 5 calls started a second.
            deleted = await batch.delete_uploaded(client, uploads, email=email, max_per_second=5)
            print(
                f"uploads: {len(deleted.succeeded_ids)} deleted, "
                f"{len(deleted.unconfirmed_ids)} not confirmed, {len(deleted.failed_ids)} failed"
            )

            # One call per task; each takes its works along. Gone already is not a failure.
            gone = await batch.delete_tasks(client, tasks, email=email, concurrency=4)
            print(
                f"tasks: {len(gone.deleted_ids)} deleted (with {len(gone.deleted_work_ids)} "
                f"works), {len(gone.already_gone_ids)} already gone, {len(gone.failed_ids)} failed"
            )

            # Stop before the next account if anything failed; a rerun picks up what is left.
            deleted.raise_for_errors()
            gone.raise_for_errors()


if __name__ == "__main__":
    anyio.run(main)
