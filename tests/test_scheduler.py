"""client.scheduler.available (GET /scheduler/available) against the fake server over loopback."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kling_async import (
    AccountCapacity,
    AuthenticationError,
    BadRequestError,
    Capacity,
    KlingClient,
    ResponseValidationError,
    RunningTask,
)
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest
from kling_async.testing._data import NOW_MS

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(
        accounts=4, works_per_account=3, uploads_per_account=0, elements_per_account=0, seed=2
    ),
]


def api_requests(fake: FakeKlingServer) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.api_path is not None]


async def test_available_gives_every_account_with_its_free_capacity(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    capacity = await client.scheduler.available()

    assert isinstance(capacity, Capacity)
    assert [account.email for account in capacity.available] == list(fake.emails)
    for account, record in zip(capacity.available, fake.data.accounts, strict=True):
        assert isinstance(account, AccountCapacity)
        assert account.max_jobs == record.max_jobs
        running = [task for task in capacity.executing if task.email == record.email]
        assert account.executing == len(running)
        assert account.available == record.max_jobs - len(running)
    assert capacity.total_available == sum(a.available or 0 for a in capacity.available)


async def test_available_lists_the_running_tasks_typed(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    capacity = await client.scheduler.available()

    # Seed 2 runs 1, 1, 0 and 2 tasks; the second account (maxJobs 1) has no room left.
    assert [account.executing for account in capacity.available] == [1, 1, 0, 2]
    assert capacity.available[1].available == 0
    now = datetime.fromtimestamp(NOW_MS / 1000, timezone.utc)
    for task in capacity.executing:
        assert isinstance(task, RunningTask)
        assert task.email in fake.emails
        assert task.started_at is not None
        assert task.elapsed_seconds is not None
        assert (now - task.started_at).total_seconds() == task.elapsed_seconds
    assert len({task.id for task in capacity.executing}) == len(capacity.executing)


async def test_available_sends_no_email_even_when_the_client_has_a_default_account(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    assert client.email == fake.emails[0]
    await client.scheduler.available()
    [sent] = api_requests(fake)
    assert (sent.method, sent.path, sent.query) == ("GET", "/v1/kling/scheduler/available", {})


async def test_available_reads_an_answer_with_nothing_running(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    body = {
        "executing": [],
        "available": [{"email": "amy@example.org", "maxJobs": 3, "executing": 0, "available": 3}],
    }
    fake.add_faults(Fault.body(body), path="/scheduler/available")

    capacity = await client.scheduler.available()

    assert capacity == Capacity(
        available=(AccountCapacity(email="amy@example.org", max_jobs=3, executing=0, available=3),)
    )
    assert capacity.total_available == 3


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"executing": [{"email": "amy@example.org"}], "available": []}, "$.executing[0].id"),
        ({"available": [{"maxJobs": 2}]}, "$.available[0].email"),
        ({"available": [{"email": "amy@example.org", "maxJobs": "2"}]}, "$.available[0].maxJobs"),
        ({"executing": {"id": 1}}, "$.executing"),
    ],
)
async def test_an_answer_that_does_not_fit_names_its_wire_path(
    fake: FakeKlingServer, client: KlingClient, body: dict[str, object], path: str
) -> None:
    fake.add_faults(Fault.body(body), path="/scheduler/available")

    with pytest.raises(ResponseValidationError) as caught:
        await client.scheduler.available()

    assert caught.value.path == path


async def test_the_documented_errors_are_typed(fake: FakeKlingServer, client: KlingClient) -> None:
    fake.add_faults(Fault.status(400, body={"error": "Error reading the scheduler"}))
    with pytest.raises(BadRequestError) as caught:
        await client.scheduler.available()
    assert caught.value.message == "Error reading the scheduler"

    async with KlingClient("user:1-wrong", base_url=fake.base_url) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.scheduler.available()
