"""client.tasks (GET /tasks, GET and DELETE /tasks/{task_id}) and the task batch helpers,
against the fake server over loopback, on every backend."""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

from kling_async import (
    AssetsListOptions,
    BadRequestError,
    BatchError,
    HistoryEntry,
    InvalidInputError,
    KlingClient,
    NotFoundError,
    TaskDeleteResult,
    TaskDetail,
    TaskNotFoundError,
    TasksListOptions,
    TasksPage,
    TasksResource,
    batch,
)
from kling_async._pagination import iter_pages
from kling_async._resources._tasks import TaskRepeats
from kling_async.testing import FakeKlingServer, Fault, RecordedRequest

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.fake(
        accounts=3, works_per_account=40, uploads_per_account=0, elements_per_account=0, seed=5
    ),
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def task_requests(fake: FakeKlingServer, method: str = "GET") -> list[RecordedRequest]:
    return [
        r for r in fake.requests if r.method == method and (r.api_path or "").startswith("/tasks")
    ]


def cursors(fake: FakeKlingServer) -> list[str | None]:
    """The ``createdBefore`` of every GET /tasks, in order (None when not sent)."""
    return [r.query.get("createdBefore") for r in task_requests(fake)]


def entry(task_id: int, create_time: int) -> dict[str, Any]:
    """A GET /tasks history entry: the task and one work."""
    return {
        "task": {"id": task_id, "createTime": create_time},
        "works": [{"workId": task_id * 10, "taskId": task_id, "createTime": create_time + 16}],
    }


def created_ms(history: HistoryEntry) -> int:
    """The task's creation time, in ms."""
    assert history.task is not None
    assert history.task.create_time is not None
    return history.task.create_time


def tasks_body(*entries: dict[str, Any]) -> Fault:
    return Fault.body({"history": list(entries)}, path="/tasks", method="GET")


async def listed_ids(pages: AsyncIterator[TasksPage]) -> list[list[int | None]]:
    return [[e.task_id for e in page.history] async for page in pages]


# -- GET /tasks: pages and cursors ------------------------------------------------------------


async def test_list_gives_the_newest_tasks_with_their_works(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    page = await client.tasks.list(page_size=5)

    records = fake.data.accounts[0].tasks[:5]
    assert isinstance(page, TasksPage)
    assert [task.id for task in page.tasks] == [record.task_id for record in records]
    for history, record in zip(page.history, records, strict=True):
        assert history.task is not None
        assert history.task.create_time == record.create_time
        assert (history.task.status_name, history.task.status_final) == ("succeed", True)
        assert [work.work_id for work in history.works] == list(record.work_ids)
        assert {work.task_id for work in history.works} == {record.task_id}
    [sent] = task_requests(fake)
    assert sent.query == {"email": fake.emails[0], "pageSize": "5"}


async def test_listed_tasks_hold_the_works_the_assets_listing_has(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    tasks = [entry async for entry in client.tasks.iter_tasks(page_size=7)]
    works = [work async for work in client.assets.iter_works(page_size=7)]

    assert [w.work_id for e in tasks for w in e.works] == [w.work_id for w in works]
    assert [e.task_id for e in tasks] == [t.task_id for t in fake.data.accounts[0].tasks]


async def test_each_page_is_asked_for_one_ms_past_the_last_tasks_create_time(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    source = client.tasks.page_source(page_size=10)
    raw: list[TasksPage] = []
    while not raw or not source.is_last(raw[-1]):
        raw.append(await source.fetch(len(raw) + 1))

    assert len(task_requests(fake)) == len(raw) > 2
    assert all(len(page.history) == 10 for page in raw[:-1])
    assert len(raw[-1].history) < 10
    last_times = [created_ms(page.history[-1]) for page in raw[:-1]]
    assert cursors(fake) == [None, *(str(time + 1) for time in last_times)]
    # So each page starts again with the last task of the page before it:
    for before, page in itertools.pairwise(raw):
        assert page.history[0].task_id == before.history[-1].task_id


async def test_iterating_lists_every_task_once_newest_first_and_stops_at_the_short_page(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    ids = [entry.task_id async for entry in client.tasks.iter_tasks(page_size=10)]

    records = fake.data.accounts[0].tasks
    assert ids == [record.task_id for record in records]
    # Page 1 has 10 new tasks, every later one 9 (it starts with the last of the page before).
    assert len(task_requests(fake)) == 1 + math.ceil((len(records) - 10 + 1) / 9)


async def test_iter_pages_gives_pages_without_repeats(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    pages = [page async for page in client.tasks.iter_pages(page_size=10)]

    ids = [entry.task_id for page in pages for entry in page.history]
    assert ids == [record.task_id for record in fake.data.accounts[0].tasks]
    assert [len(page.history) for page in pages[:-1]] == [10] + [9] * (len(pages) - 2)


async def test_an_empty_page_ends_the_listing(fake: FakeKlingServer, client: KlingClient) -> None:
    fake.add_faults(tasks_body(entry(1, 300), entry(2, 200)), tasks_body())

    ids = [entry.task_id async for entry in client.tasks.iter_tasks(page_size=2)]

    assert ids == [1, 2]
    assert cursors(fake) == [None, "201"]


def ties() -> list[Fault]:
    """Three pages of two: B and C share a millisecond, and B ends page 1."""
    return [
        tasks_body(entry(1, 300), entry(2, 200)),  # asked for with no bound
        tasks_body(entry(2, 200), entry(3, 200)),  # createdBefore=201: B again, then C
        tasks_body(entry(4, 100)),  # createdBefore=200: past that millisecond, short: the end
    ]


async def test_a_task_sharing_the_boundary_millisecond_is_neither_lost_nor_repeated(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    fake.add_faults(*ties())

    ids = [entry.task_id async for entry in client.tasks.iter_tasks(page_size=2)]

    assert ids == [1, 2, 3, 4]
    assert cursors(fake) == [None, "201", "200"]


async def test_iter_pages_and_the_batch_listing_leave_the_boundary_repeat_out(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    fake.add_faults(*ties())
    pages = await listed_ids(client.tasks.iter_pages(page_size=2))

    fake.add_faults(*ties())
    listing = batch.iter_task_pages(client, fake.emails[0], page_size=2)
    async with listing:
        batched = [(p.page_num, [e.task_id for e in p.page.history]) async for p in listing]

    assert pages == [[1, 2], [3], [4]]
    assert batched == [(1, [1, 2]), (2, [3]), (3, [4])]
    assert cursors(fake) == [None, "201", "200"] * 2


async def test_the_page_source_gives_pages_as_sent_and_task_repeats_cleans_them(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    fake.add_faults(*ties())

    raw = [page async for page in iter_pages(client.tasks.page_source(page_size=2))]

    assert [[e.task_id for e in page.history] for page in raw] == [[1, 2], [2, 3], [4]]
    repeats = TaskRepeats()
    cleaned = [repeats.clean(page) for page in raw]
    assert [[e.task_id for e in page.history] for page in cleaned] == [[1, 2], [3], [4]]
    assert (cleaned[0], cleaned[2]) == (raw[0], raw[2])


async def test_a_server_ignoring_the_cursor_cannot_make_the_listing_loop(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    page_one = tasks_body(entry(1, 300), entry(2, 200))
    fake.add_faults(page_one, tasks_body(entry(1, 300), entry(2, 200)))

    ids = [entry.task_id async for entry in client.tasks.iter_tasks(page_size=2)]

    assert ids == [1, 2]  # task 1 lies past the bound asked for: page 2 is short, the end
    assert len(task_requests(fake)) == 2


async def test_created_after_lists_only_newer_tasks_then_pages_by_cursor_alone(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    records = fake.data.accounts[0].tasks
    bound = records[9].create_time

    ids = [e.task_id async for e in client.tasks.iter_tasks(page_size=4, created_after=bound)]

    assert ids == [record.task_id for record in records[:9]]  # the bound is exclusive
    sent = task_requests(fake)
    assert sent[0].query["createdAfter"] == str(bound)
    assert "createdBefore" not in sent[0].query
    assert all("createdAfter" not in r.query for r in sent[1:])
    assert len(sent) == 3  # pages of 4 new, 3 new, then 3 new and the bound: short


async def test_created_before_is_exclusive_and_takes_datetimes(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    records = fake.data.accounts[0].tasks
    moment = EPOCH + timedelta(milliseconds=records[2].create_time)

    by_ms = await client.tasks.list(created_before=records[2].create_time, page_size=3)
    by_naive = await client.tasks.list(created_before=moment.replace(tzinfo=None), page_size=3)
    just_after = moment + timedelta(microseconds=500)  # rounds up: the task at `moment` is in
    by_later = await client.tasks.list(created_before=just_after, page_size=3)

    assert [t.id for t in by_ms.tasks] == [r.task_id for r in records[3:6]]
    assert by_naive == by_ms
    assert [t.id for t in by_later.tasks] == [r.task_id for r in records[2:5]]
    assert cursors(fake) == [str(records[2].create_time)] * 2 + [str(records[2].create_time + 1)]


LISTERS: list[tuple[str, Callable[..., Any]]] = [
    ("list", lambda client, **o: client.tasks.list(**o)),
    ("iter_pages", lambda client, **o: client.tasks.iter_pages(**o)),
    ("iter_tasks", lambda client, **o: client.tasks.iter_tasks(**o)),
    ("page_source", lambda client, **o: client.tasks.page_source(**o)),
    ("batch", lambda client, **o: batch.iter_task_pages(client, **o)),
]


async def called(lister: Callable[..., Any], client: KlingClient, options: dict[str, Any]) -> Any:
    """Call ``lister``, awaiting what it returns when that is awaitable (``list``)."""
    result = lister(client, **options)
    return await result if inspect.isawaitable(result) else result


@pytest.mark.parametrize(("name", "lister"), LISTERS, ids=[name for name, _ in LISTERS])
@pytest.mark.parametrize(
    "options",
    [
        {"created_before": 1_746_000_000_000, "created_after": 1_745_000_000_000},
        {"created_before": datetime(2025, 5, 1), "created_after": datetime(2025, 4, 1)},
        {"page_size": 101},
        {"page_size": 0},
        {"content_type": "gif"},
        {"created_before": "yesterday"},
        {"created_after": -1},
        {"created_before": True},
    ],
    ids=["both-ms", "both-datetimes", "size-101", "size-0", "type", "text", "negative", "bool"],
)
async def test_bad_listing_options_fail_before_anything_is_sent(
    fake: FakeKlingServer,
    client: KlingClient,
    name: str,
    lister: Callable[..., Any],
    options: dict[str, Any],
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        await called(lister, client, options)
    if "created_after" in options and "created_before" in options:
        assert "cannot be combined" in str(caught.value)
    assert fake.requests == []


async def test_the_same_options_give_the_same_first_query_from_every_sibling(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    options: TasksListOptions = {"content_type": "VIDEO", "page_size": 3, "created_before": 2**40}
    email = fake.emails[1]
    await client.tasks.list(email=email, **options)
    async for _ in client.tasks.iter_pages(email=email, **options):
        break
    async for _ in client.tasks.iter_tasks(email=email, **options):
        break
    await client.tasks.page_source(email=email, **options).fetch(1)
    async with batch.iter_task_pages(client, email, **options) as pages:
        async for _ in pages:
            break

    queries = [r.query for r in task_requests(fake)]
    first = {"email": email, "pageSize": "3", "contentType": "video", "createdBefore": str(2**40)}
    assert queries[:4] == [first] * 4
    assert first in queries[4:]


def test_task_listing_signatures_follow_the_listing_rules() -> None:
    for name in ("list", "iter_pages", "iter_tasks", "page_source"):
        parameters = list(inspect.signature(getattr(TasksResource, name)).parameters.values())
        assert [p.name for p in parameters if p.kind is p.KEYWORD_ONLY] == ["email"], name
        assert [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD] == ["self"]
        assert "Unpack[TasksListOptions]" in str(parameters[-1].annotation), name
    helper = list(inspect.signature(batch.iter_task_pages).parameters.values())
    assert [p.name for p in helper if p.kind is p.POSITIONAL_OR_KEYWORD] == ["client", "emails"]
    assert [p.name for p in helper if p.kind is p.KEYWORD_ONLY] == [
        "concurrency",
        "on_error",
        "max_per_second",
    ]
    assert "Unpack[TasksListOptions]" in str(helper[-1].annotation)
    keys = list(TasksListOptions.__annotations__)
    assert keys == ["content_type", "created_after", "created_before", "page_size", "timeout"]
    for key in ("content_type", "page_size", "timeout"):
        assert TasksListOptions.__annotations__[key] == AssetsListOptions.__annotations__[key]
    checks: list[tuple[Callable[..., Any], list[str], list[str]]] = [
        (TasksResource.get, ["self", "task_id"], ["email", "timeout"]),
        (TasksResource.delete, ["self", "task_id"], ["email", "timeout"]),
        (
            batch.delete_tasks,
            ["client", "task_ids"],
            ["email", "timeout", "concurrency", "max_per_second"],
        ),
    ]
    for function, required, options in checks:
        parameters = list(inspect.signature(function).parameters.values())
        assert [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD] == required
        assert [p.name for p in parameters if p.kind is p.KEYWORD_ONLY] == options


async def test_the_batch_listing_takes_no_per_account(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    with pytest.raises(TypeError, match="per_account"):
        batch.iter_task_pages(client, per_account=2)  # type: ignore[call-arg]
    pages = batch.iter_task_pages(client, fake.emails)
    assert pages.per_account == 1
    assert fake.requests == []


# -- GET /tasks/{task_id} ---------------------------------------------------------------------


async def test_get_gives_the_task_with_its_works_and_a_succeeded_status(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    record = next(task for task in fake.data.accounts[0].tasks if task.work_count > 1)

    detail = await client.tasks.get(record.task_id)

    assert isinstance(detail, TaskDetail)
    assert (detail.done, detail.succeeded, detail.failed) == (True, True, False)
    assert (detail.status, detail.status_name, detail.message) == (99, "succeed", "success")
    assert detail.task is not None
    assert detail.task_id == detail.task.id == record.task_id
    assert detail.created_at == EPOCH + timedelta(milliseconds=record.create_time)
    assert [work.work_id for work in detail.works] == list(record.work_ids)
    [sent] = task_requests(fake)
    assert (sent.path, sent.query) == (f"/v1/kling/tasks/{record.task_id}", {"email": sent.email})


@pytest.mark.parametrize(
    ("body", "done", "succeeded", "failed"),
    [
        ({"status": 5, "status_name": "submitted", "status_final": False}, False, False, False),
        ({"status": 99, "status_name": "succeed", "status_final": False}, False, False, False),
        ({"status": 7, "status_name": "succeed", "status_final": True}, True, True, False),
        ({"status": 99, "status_name": "failed", "status_final": True}, True, False, True),
        ({"status": 50, "status_final": True, "error": "content moderation"}, True, False, True),
        ({}, False, False, False),
    ],
    ids=["submitted", "99-not-final", "unknown-number-succeed", "99-failed", "error", "empty"],
)
async def test_done_and_succeeded_come_from_status_final_and_status_name_not_numbers(
    fake: FakeKlingServer,
    client: KlingClient,
    body: dict[str, Any],
    done: bool,
    succeeded: bool,
    failed: bool,
) -> None:
    fake.add_faults(Fault.body(body, path="/tasks"))

    detail = await client.tasks.get(1)

    assert (detail.done, detail.succeeded, detail.failed) == (done, succeeded, failed)
    assert detail.error == body.get("error")
    assert (detail.task, detail.works, detail.task_id) == (None, (), None)


async def test_task_ids_are_normalised_and_checked_before_sending(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    record = fake.data.accounts[0].tasks[0]
    detail = await client.tasks.get(f" 00{record.task_id} ")
    assert detail.task_id == record.task_id
    assert task_requests(fake)[0].path == f"/v1/kling/tasks/{record.task_id}"

    fake.reset_stats()
    for bad in (True, -1, "12a", "", [1], 1.5, None, "1/2"):
        with pytest.raises(InvalidInputError, match="task_id"):
            await client.tasks.get(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="task_id"):
            await client.tasks.delete(bad)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_get_of_a_task_the_account_does_not_have_is_not_found(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    other = fake.data.accounts[1].tasks[0].task_id
    with pytest.raises(NotFoundError) as caught:
        await client.tasks.get(other)
    assert not isinstance(caught.value, TaskNotFoundError)
    assert caught.value.email == fake.emails[0]


# -- DELETE /tasks/{task_id} ------------------------------------------------------------------


async def test_delete_reports_the_works_and_they_leave_the_listings(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    record = next(task for task in fake.data.accounts[0].tasks if task.work_count > 1)

    result = await client.tasks.delete(str(record.task_id))

    assert result == TaskDeleteResult(deleted=record.work_count, work_ids=record.work_ids)
    works = {work.work_id async for work in client.assets.iter_works()}
    assert works
    assert not works & set(record.work_ids)
    tasks = {entry.task_id async for entry in client.tasks.iter_tasks()}
    assert record.task_id not in tasks
    with pytest.raises(NotFoundError):
        await client.tasks.get(record.task_id)
    [sent] = task_requests(fake, "DELETE")
    assert sent.query == {"email": fake.emails[0]}


async def test_a_repeated_delete_is_a_task_not_found_error(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    task_id = fake.data.accounts[0].tasks[0].task_id
    await client.tasks.delete(task_id)

    with pytest.raises(TaskNotFoundError) as caught:
        await client.tasks.delete(task_id)

    error = caught.value
    assert isinstance(error, NotFoundError)
    assert (error.status_code, error.task_id, error.email) == (404, task_id, fake.emails[0])
    assert error.message == f"No works found for task {task_id}"
    assert len(task_requests(fake, "DELETE")) == 2  # a 404 is not retried


async def test_other_404s_and_the_400_of_a_delete_keep_their_plain_types(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    task_id = fake.data.accounts[0].tasks[0].task_id
    with pytest.raises(NotFoundError) as unknown_account:
        await client.tasks.delete(task_id, email="nobody@example.com")
    assert not isinstance(unknown_account.value, TaskNotFoundError)

    invalid = {"error": "Invalid task_id parameter"}
    fake.add_faults(Fault.status(400, body=invalid), path="/tasks", method="DELETE")
    with pytest.raises(BadRequestError, match="Invalid task_id parameter"):
        await client.tasks.delete(task_id)
    assert fake.data.accounts[0].deleted_task_ids == set()


# -- batch.delete_tasks -----------------------------------------------------------------------


async def test_delete_tasks_gives_every_task_exactly_one_outcome_under_faults(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    account = fake.data.accounts[0]
    t0, t1, t2, t3, t4 = (task.task_id for task in account.tasks[:5])
    await client.tasks.delete(t3)  # already gone before the batch
    fake.reset_stats()
    fake.add_faults(
        Fault.status(429),  # t0: retried,
        Fault.status(503),  # retried again,
        Fault.delay(0),  # then deleted (each fault takes the next request, retries included)
        Fault.status(400, body={"error": "Invalid task_id parameter"}),  # t1: failed
        Fault.truncated(),  # t2: deleted, but the answer is cut: the retry finds it gone
        path="/tasks",
        method="DELETE",
    )

    result = await batch.delete_tasks(client, [t0, str(t1), t2, t3, f"0{t0}", t4, 1], concurrency=1)

    assert result.ids == (t0, t1, t2, t3, t4, 1)
    assert result.deleted_ids == (t0, t4)
    assert result.already_gone_ids == (t2, t3, 1)
    assert result.failed_ids == (t1,)
    assert [type(error) for error in result.errors] == [BadRequestError]
    assert all(isinstance(chunk.error, TaskNotFoundError) for chunk in result.already_gone)
    works = {task.task_id: task.work_ids for task in account.tasks[:5]}
    assert result.deleted_work_ids == works[t0] + works[t4]
    assert (result.ok, result.all_deleted) == (False, False)
    assert account.deleted_task_ids == {t0, t2, t3, t4}
    assert len(task_requests(fake, "DELETE")) == 3 + 1 + 2 + 1 + 1 + 1
    with pytest.raises(BatchError) as caught:
        result.raise_for_errors()
    assert caught.value.failed_ids == (t1,)
    assert isinstance(caught.value.__cause__, BadRequestError)


async def test_delete_tasks_loses_no_task_under_random_faults(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    account = fake.data.accounts[0]
    ids = [task.task_id for task in account.tasks[:24]]
    faults = [Fault.status(429), Fault.status(503), Fault.truncated(), Fault.drop()]
    fake.set_fault_rate(0.4, faults, seed=3, path="/tasks", method="DELETE")

    result = await batch.delete_tasks(client, ids, concurrency=6)

    outcomes = [result.deleted_ids, result.already_gone_ids, result.failed_ids]
    assert sorted(id_ for outcome in outcomes for id_ in outcome) == sorted(ids)
    assert result.ids == tuple(ids)
    assert set(result.deleted_ids) | set(result.already_gone_ids) <= account.deleted_task_ids
    assert account.deleted_task_ids <= set(ids)
    assert any(r.fault for r in fake.requests)
    assert result.ok == (not result.failed_ids)


async def test_delete_tasks_that_were_all_there_is_all_deleted(
    fake: FakeKlingServer, client: KlingClient
) -> None:
    ids = [task.task_id for task in fake.data.accounts[1].tasks[:3]]
    result = await batch.delete_tasks(client, ids, email=fake.emails[1])
    assert (result.ok, result.all_deleted, result.deleted_ids) == (True, True, tuple(ids))
    assert result.raise_for_errors() is result

    again = await batch.delete_tasks(client, ids, email=fake.emails[1])
    assert (again.ok, again.all_deleted, again.already_gone_ids) == (True, False, tuple(ids))
    assert again.raise_for_errors() is again


@pytest.mark.parametrize(
    ("task_ids", "options"),
    [
        ([], {}),
        (["1", "x"], {}),
        ([1, -2], {}),
        ([1], {"concurrency": 0}),
        ([1], {"email": " "}),
        ([1], {"max_per_second": 0}),
    ],
    ids=["empty", "letters", "negative", "concurrency", "email", "rate"],
)
async def test_delete_tasks_checks_its_input_before_sending(
    fake: FakeKlingServer, client: KlingClient, task_ids: Sequence[Any], options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError):
        await batch.delete_tasks(client, task_ids, **options)
    assert fake.requests == []


# -- batch.iter_task_pages --------------------------------------------------------------------


async def test_the_batch_listing_runs_accounts_together_and_each_account_in_sequence(
    held_client: Any,
) -> None:
    async with (
        FakeKlingServer(accounts=3, works_per_account=40, seed=5) as fake,
        held_client(fake, 3) as client,  # gets through only with 3 requests in flight at once
    ):
        fake.latency = 0.005
        fake.jitter = 0.004
        with anyio.fail_after(20):
            async with batch.iter_task_pages(client, fake.emails, page_size=6) as pages:
                delivered = [(p.email, p.page_num, p.page) async for p in pages]

        for account in fake.data.accounts:
            mine = [(num, page) for email, num, page in delivered if email == account.email]
            assert [num for num, _ in mine] == list(range(1, len(mine) + 1))
            ids = [entry.task_id for _, page in mine for entry in page.history]
            assert ids == [task.task_id for task in account.tasks]
            sent = sorted(
                (r for r in task_requests(fake) if r.email == account.email), key=lambda r: r.start
            )
            for before, after in itertools.pairwise(sent):
                assert before.end is not None
                assert after.start >= before.end  # one request in flight per account
