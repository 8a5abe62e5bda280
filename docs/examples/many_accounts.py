"""Several Kling accounts at once: concurrent listings within limits, then where there is room."""

import anyio

from kling_async import KlingClient, batch


async def main() -> dict[str, int]:
    """Count every account's videos concurrently, and say which account has the most room."""
    videos: dict[str, int] = {}
    async with KlingClient() as client:
        emails = [account.email for account in await client.accounts.list()]
        async with batch.iter_pages(
            client,
            emails,
            content_type="video",
            concurrency=16,  # requests in flight over all accounts (at most the pool's size)
            per_account=4,  # requests in flight for one account: its next pages
            max_per_second=20,  # request starts, over all accounts
            on_error="continue",  # a failing account stops alone
        ) as pages:
            async for page in pages:  # each account's pages in order; accounts interleave
                email = page.email or ""  # None only for the client's default account
                videos[email] = videos.get(email, 0) + len(page.works)
        for failure in pages.failures:
            print("stopped", failure.email, "at page", failure.page_num, ":", failure.error)

        capacity = await client.scheduler.available()
        print(capacity.total_available, "jobs can start now")
        roomiest = max(capacity.available, key=lambda room: room.available or 0, default=None)
        if roomiest is not None:
            print("most room:", roomiest.email, roomiest.available, "of", roomiest.max_jobs)
    return videos


if __name__ == "__main__":
    anyio.run(main)
