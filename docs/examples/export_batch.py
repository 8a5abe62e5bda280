"""The export job by hand with `kling_async.batch`: every account's videos, downloaded as MP4."""

from pathlib import Path

import anyio
import httpx2

from kling_async import KlingClient, batch


async def save(cdn: httpx2.AsyncClient, url: str, path: Path) -> None:
    """Stream one file from the CDN to ``path``, through a ``.part`` file."""
    partial = anyio.Path(path.with_name(path.name + ".part"))
    await partial.parent.mkdir(parents=True, exist_ok=True)
    async with cdn.stream("GET", url) as response:
        response.raise_for_status()
        async with await anyio.open_file(partial, "wb") as file:
            async for chunk in response.aiter_bytes():
                await file.write(chunk)
    await partial.rename(path)


async def main(folder: Path = Path("my-videos")) -> int:
    """Download every video of every account into ``folder/<email>/<workId>.mp4``."""
    saved = 0
    # The CDN's signed URLs need no token: a plain client, kept apart from the API's.
    async with KlingClient() as client, httpx2.AsyncClient(follow_redirects=True) as cdn:
        emails = [account.email for account in await client.accounts.list()]
        async with batch.iter_pages(client, emails, content_type="video") as pages:
            async for page in pages:  # pages keep coming while this body downloads
                work_ids = [work.work_id for work in page.works]
                # One work per call: the answer is then the MP4 itself, not a zip.
                urls = await batch.download(
                    client, work_ids, file_types="MP4", email=page.email, chunk_size=1
                )
                account_folder = folder / (page.email or "default")
                for done in urls.succeeded:
                    (work_id,) = done.ids
                    await save(cdn, done.value.cdn_url, account_folder / f"{work_id}.mp4")
                    saved += 1
                for failed in urls.failed:
                    print("no URL for", failed.ids, failed.error)
    return saved


if __name__ == "__main__":
    anyio.run(main)
