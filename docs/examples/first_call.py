"""A first call: the newest videos of the account, and a watermark-free download URL."""

import anyio

from kling_async import KlingClient


async def main() -> None:
    """Print the five newest videos, and where to download the newest."""
    # The token comes from USEAPI_TOKEN. With one Kling account on the subscription, no
    # email= is needed; with several, pass KlingClient(email="me@example.com").
    async with KlingClient() as client:
        page = await client.assets.list(content_type="video", page_size=5)
        for work in page.works:
            print(work.work_id, work.created_at, work.prompt)
        if page.works:
            download = await client.assets.download(page.works[0].work_id, file_types="MP4")
            print(download.cdn_url)  # the file itself, without the watermark


if __name__ == "__main__":
    anyio.run(main)
