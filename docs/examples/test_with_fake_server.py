"""Testing code that calls Kling, with pytest, anyio's pytest plugin and the fake server."""

from collections.abc import AsyncIterator

import pytest

from kling_async import KlingClient, RateLimitError, batch
from kling_async.testing import FakeKlingServer, Fault

# anyio's pytest plugin (installed with anyio) runs every async test of the module.
pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each test on asyncio and on trio (the plugin's default is asyncio alone)."""
    return str(request.param)


@pytest.fixture
async def fake() -> AsyncIterator[FakeKlingServer]:
    """A fake server on loopback, with a small seeded dataset."""
    async with FakeKlingServer(accounts=2, works_per_account=30, seed=7) as server:
        yield server


@pytest.fixture
async def client(fake: FakeKlingServer) -> AsyncIterator[KlingClient]:
    """A client of the fake: its token and URL, its first account, retries without waits."""
    async with fake.client() as kling:
        yield kling


async def count_videos(client: KlingClient) -> int:
    """The code under test: how many videos the account holds."""
    return len([work async for work in client.assets.iter_works(content_type="video")])


async def test_counts_the_videos_the_fake_holds(fake: FakeKlingServer, client: KlingClient) -> None:
    account = fake.data.accounts[0]  # the client's account
    videos = [task for task in account.tasks if task.content_type == "video"]
    assert await count_videos(client) == sum(task.work_count for task in videos)
    assert {request.email for request in fake.requests} == {account.email}


async def test_a_busy_service_is_retried(fake: FakeKlingServer, client: KlingClient) -> None:
    fake.add_faults(Fault.status(429), Fault.status(503), path="/assets")
    assert await count_videos(client) > 0
    assert [request.status for request in fake.requests][:3] == [429, 503, 200]
    assert [request.fault for request in fake.requests][:3] == ["status", "status", None]


async def test_gives_up_once_the_retries_are_spent(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    fake.add_faults(Fault.status(429), Fault.status(429), Fault.status(429), path="/assets")
    with pytest.raises(RateLimitError):
        await count_videos(client)
    assert len(fake.requests) == 3  # the first try and the client's two retries


async def test_deleted_uploads_leave_the_data(fake: FakeKlingServer, client: KlingClient) -> None:
    account = fake.data.accounts[0]
    ids = [upload.id for upload in account.uploads[:12]]
    result = await batch.delete_uploaded(client, ids)  # the client's account
    assert result.succeeded_ids == tuple(ids)
    assert account.deleted_upload_ids == set(ids)
    assert [request.method for request in fake.requests] == ["DELETE", "DELETE"]  # 10 + 2
