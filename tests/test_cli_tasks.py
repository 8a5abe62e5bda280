"""``kling-async tasks``, ``uploads add``, ``uploads delete``'s confirmation, ``elements list`` and
``scheduler available``, end to end against the fake server.

As in tests/test_cli.py, the fake server runs in a thread of its own (an anyio blocking
portal) and `main` runs in-process, except where a real terminal matters.
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio.from_thread
import orjson
import pytest

from kling_async import KlingClient, cli
from kling_async.testing import FakeKlingServer, Fault, TaskRecord

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as running:
        yield running


@pytest.fixture
def fake(portal: anyio.from_thread.BlockingPortal) -> Iterator[FakeKlingServer]:
    """Two accounts of 12 works, 6 uploads and 5 elements each, served from a thread."""
    server = FakeKlingServer(
        accounts=2, works_per_account=12, uploads_per_account=6, elements_per_account=5, seed=5
    )
    with portal.wrap_async_context_manager(server):
        yield server


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USEAPI_TOKEN", raising=False)
    monkeypatch.delenv("USEAPI_BASE_URL", raising=False)


class Run:
    """One finished command: status and captured output, checked never to show the token."""

    def __init__(self, status: int, out: str, err: str, secret: str) -> None:
        self.status, self.out, self.err = status, out, err
        assert secret not in out
        assert secret not in err

    def json(self) -> Any:
        return orjson.loads(self.out)

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


@pytest.fixture
def kling(
    fake: FakeKlingServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Run ``kling-async`` in-process against the fake, the token in USEAPI_TOKEN."""
    monkeypatch.setenv("USEAPI_TOKEN", fake.token)

    def run(*args: str) -> Run:
        capsys.readouterr()
        status = cli.main(["--base-url", fake.base_url, "--max-retries", "0", *args])
        out, err = capsys.readouterr()
        return Run(status, out, err, fake.token)

    return run


class Terminal(io.StringIO):
    """A stdin that says it is a terminal, with the user's typing already in it."""

    def isatty(self) -> bool:
        return True


def on_a_terminal(monkeypatch: pytest.MonkeyPatch, typed: str) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(typed))


def requests_to(fake: FakeKlingServer, method: str, prefix: str) -> list[Any]:
    return [
        request
        for request in fake.requests
        if request.method == method and (request.api_path or "").startswith(prefix)
    ]


def iso(milliseconds: int) -> str:
    return (EPOCH + timedelta(milliseconds=milliseconds)).isoformat(timespec="milliseconds")


def listed_work_ids(fake: FakeKlingServer, kling: Any, email: str) -> set[int]:
    """The work IDs GET /assets lists for the account now (through ``assets list``)."""
    run = kling("assets", "list", "--email", email, "--page-size", "100")
    assert run.status == 0, run.err
    return {work["workId"] for entry in run.json()["history"] for work in entry["works"]}


# -- tasks list -----------------------------------------------------------------------------------


def test_tasks_list_prints_one_line_per_task_newest_first(
    fake: FakeKlingServer, kling: Any
) -> None:
    account = fake.data.accounts[0]

    run = kling("tasks", "list", "--email", account.email)

    assert run.status == 0, run.err
    assert [int(line.split()[0]) for line in run.lines] == [t.task_id for t in account.tasks]
    first, task = run.lines[0], account.tasks[0]
    assert first.split()[1] == "succeed"
    assert iso(task.create_time)[:19] + "Z" in first
    works = "1 work " if task.work_count == 1 else f"{task.work_count} works"
    assert works in first
    assert task.type in first
    assert task.prompt[:40] in first


def test_tasks_list_limit_asks_for_a_page_no_larger_than_the_limit(
    fake: FakeKlingServer, kling: Any
) -> None:
    account = fake.data.accounts[0]

    run = kling("tasks", "list", "--email", account.email, "--limit", "3")

    assert run.status == 0, run.err
    assert [int(line.split()[0]) for line in run.lines] == [
        task.task_id for task in account.tasks[:3]
    ]
    (request,) = requests_to(fake, "GET", "/tasks")
    assert request.query["pageSize"] == "3"


def test_tasks_list_limit_stops_the_listing(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    assert kling("tasks", "list", "--email", account.email, "--page-size", "2").status == 0
    every_page = len(requests_to(fake, "GET", "/tasks"))
    fake.reset_stats()

    run = kling("tasks", "list", "--email", account.email, "--page-size", "2", "--limit", "5")

    assert run.status == 0, run.err
    assert len(run.lines) == 5
    # Each page brings at least one new task: at most five pages, fewer than the whole listing.
    assert len(requests_to(fake, "GET", "/tasks")) <= 5 < every_page


def test_tasks_list_json_is_the_entries_in_wire_form(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[1]

    run = kling("tasks", "list", "--email", account.email, "--limit", "4", "--json")

    assert run.status == 0, run.err
    entries = run.json()
    assert [entry["task"]["id"] for entry in entries] == [t.task_id for t in account.tasks[:4]]
    assert entries[0]["works"][0]["workId"] == account.tasks[0].first_work_id
    assert entries[0]["task"]["status_name"] == "succeed"


def test_tasks_list_created_after_is_exclusive_and_sent_in_ms(
    fake: FakeKlingServer, kling: Any
) -> None:
    account = fake.data.accounts[0]
    bound = account.tasks[3].create_time
    expected = [task.task_id for task in account.tasks if task.create_time > bound]

    run = kling("tasks", "list", "--email", account.email, "--created-after", iso(bound))

    assert run.status == 0, run.err
    assert [int(line.split()[0]) for line in run.lines] == expected
    assert requests_to(fake, "GET", "/tasks")[0].query["createdAfter"] == str(bound)


def test_tasks_list_of_one_content_type(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    images = [task.task_id for task in account.tasks if task.content_type == "image"]
    assert images

    run = kling("tasks", "list", "--email", account.email, "--content-type", "IMAGE")

    assert [int(line.split()[0]) for line in run.lines] == images


def test_tasks_list_with_both_bounds_exits_2_before_any_request(
    fake: FakeKlingServer, kling: Any
) -> None:
    run = kling(
        "tasks", "list", "--email", fake.emails[0],
        "--created-before", "2025-02-01", "--created-after", "2025-01-01",
    )  # fmt: skip

    assert run.status == 2
    assert "--created-after: not allowed with argument --created-before" in run.err
    assert fake.requests == []


def test_tasks_list_page_size_over_the_sdk_limit_exits_2_before_any_request(
    fake: FakeKlingServer, kling: Any
) -> None:
    run = kling("tasks", "list", "--email", fake.emails[0], "--page-size", "101")

    assert run.status == 2
    assert run.err == "kling-async: error: page_size must be from 1 to 100, not 101\n"
    assert fake.requests == []


def test_tasks_list_failing_mid_way_keeps_the_lines_printed_and_exits_1(
    fake: FakeKlingServer, kling: Any
) -> None:
    account = fake.data.accounts[0]
    fake.add_faults(Fault.delay(0), Fault.status(500), path="/tasks", method="GET")

    run = kling("tasks", "list", "--email", account.email, "--page-size", "3")

    assert run.status == 1
    assert [int(line.split()[0]) for line in run.lines] == [t.task_id for t in account.tasks[:3]]
    assert run.err.startswith("kling-async: error: 500 ")
    assert run.err.count("\n") == 1


def test_tasks_list_shows_a_hostile_prompt_as_one_plain_line(
    fake: FakeKlingServer, kling: Any
) -> None:
    task = {"id": 7, "status_name": "succeed", "createTime": 1751400000123, "type": "t"}
    task["taskInfo"] = {"arguments": [{"name": "prompt", "value": "a\nb\x1b[2Jc\tuser:1-Abc"}]}
    fake.add_faults(Fault.body({"history": [{"task": task, "works": []}]}), path="/tasks")

    run = kling("tasks", "list", "--email", fake.emails[0])

    assert run.status == 0, run.err
    assert run.lines == [
        "7  succeed    2025-07-01T20:00:00Z   0 works  t                   a b [2Jc ***"
    ]


# -- tasks get ------------------------------------------------------------------------------------


def test_tasks_get_says_done_and_succeeded_and_lists_the_works(
    fake: FakeKlingServer, kling: Any
) -> None:
    account, task = next((a, t) for a in fake.data for t in a.tasks if t.work_count > 1)

    run = kling("tasks", "get", str(task.task_id), "--email", account.email)

    assert run.status == 0, run.err
    assert run.lines[0] == f"task {task.task_id}: succeed (done, succeeded)"
    assert f"prompt   {task.prompt}" in run.lines
    assert f"works    {task.work_count}" in run.lines
    shown = [int(line.split()[0]) for line in run.lines if line.startswith("  ")]
    assert shown == list(task.work_ids)


def test_tasks_get_json_is_the_wire_form(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[1]
    task = account.tasks[2]

    run = kling("tasks", "get", str(task.task_id), "--email", account.email, "--json")

    assert run.status == 0, run.err
    detail = run.json()
    assert (detail["status_final"], detail["status_name"]) == (True, "succeed")
    assert detail["task"]["id"] == task.task_id
    assert [work["workId"] for work in detail["works"]] == list(task.work_ids)


def test_tasks_get_of_an_unknown_task_is_one_line_and_exit_1(
    fake: FakeKlingServer, kling: Any
) -> None:
    run = kling("tasks", "get", "12345", "--email", fake.emails[0])

    assert run.status == 1
    assert run.out == ""
    assert run.err.startswith("kling-async: error: 404 Task 12345 not found")


def test_tasks_get_rejects_a_bad_id_before_any_request(fake: FakeKlingServer, kling: Any) -> None:
    run = kling("tasks", "get", "12a", "--email", fake.emails[0])

    assert run.status == 2
    assert "TASK_ID" in run.err
    assert fake.requests == []


# -- tasks delete ---------------------------------------------------------------------------------


def two_tasks(fake: FakeKlingServer) -> tuple[str, list[TaskRecord]]:
    account = fake.data.accounts[0]
    return account.email, [account.tasks[1], account.tasks[4]]


def test_tasks_delete_dry_run_lists_the_tasks_and_sends_nothing(
    fake: FakeKlingServer, kling: Any
) -> None:
    email, tasks = two_tasks(fake)
    ids = [str(task.task_id) for task in tasks]

    run = kling("tasks", "delete", *ids, "--email", email, "--dry-run")

    assert run.status == 0, run.err
    assert run.lines == [
        *(f"would delete  {id_}" for id_ in ids),
        f"dry run: 2 tasks and all their works would be deleted on {email}; nothing was sent",
    ]
    assert fake.requests == []


def test_tasks_delete_dry_run_json(fake: FakeKlingServer, kling: Any) -> None:
    email, tasks = two_tasks(fake)

    run = kling("tasks", "delete", str(tasks[0].task_id), "--email", email, "--dry-run", "--json")

    assert run.json() == {"dry_run": True, "would_delete": [tasks[0].task_id]}
    assert fake.requests == []


def test_tasks_delete_without_a_terminal_or_yes_exits_2_and_deletes_nothing(
    fake: FakeKlingServer, kling: Any
) -> None:
    email, tasks = two_tasks(fake)

    run = kling("tasks", "delete", *(str(t.task_id) for t in tasks), "--email", email)

    assert run.status == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert "not deleting 2 tasks without confirmation" in run.err
    assert "pass --yes" in run.err
    assert fake.requests == []
    assert fake.data.accounts[0].deleted_task_ids == set()


LOOPS = [
    pytest.param([], id="asyncio-httpx2"),
    pytest.param(["--http", "aiohttp"], id="asyncio-aiohttp"),
    pytest.param(["--backend", "trio"], id="trio"),
]


@pytest.mark.parametrize("loop", LOOPS)
def test_tasks_delete_yes_deletes_and_the_works_leave_assets(
    fake: FakeKlingServer, kling: Any, loop: list[str]
) -> None:
    email, tasks = two_tasks(fake)
    ids = [str(task.task_id) for task in tasks]
    work_ids = {work_id for task in tasks for work_id in task.work_ids}
    assert work_ids <= listed_work_ids(fake, kling, email)

    run = kling(*loop, "tasks", "delete", *ids, "--email", email, "--yes")

    assert run.status == 0, run.err
    assert run.err.splitlines() == [
        f"About to delete 2 tasks and all their works on {email}, for good:",
        *(f"  {id_}" for id_ in ids),
    ]
    works = [f"{t.work_count} work" + ("s" if t.work_count > 1 else "") for t in tasks]
    assert run.lines == [
        f"deleted       {ids[0]} ({works[0]})",
        f"deleted       {ids[1]} ({works[1]})",
        f"2 deleted ({len(work_ids)} work{'s' if len(work_ids) > 1 else ''}), "
        "0 already gone, 0 failed",
    ]
    assert not work_ids & listed_work_ids(fake, kling, email)


def test_tasks_delete_json_tells_deleted_already_gone_and_failed_apart(
    fake: FakeKlingServer, kling: Any
) -> None:
    email, tasks = two_tasks(fake)
    gone, failing, deleted = tasks[0], tasks[1], fake.data.accounts[0].tasks[6]
    assert kling("tasks", "delete", str(gone.task_id), "--email", email, "--yes").status == 0
    fake.add_faults(Fault.status(500), path=f"/tasks/{failing.task_id}", method="DELETE")

    ids = [str(task.task_id) for task in (gone, failing, deleted)]
    run = kling("tasks", "delete", *ids, "--email", email, "--yes", "--json")

    assert run.status == 1
    result = run.json()
    assert result["deleted"] == [{"task_id": deleted.task_id, "work_ids": list(deleted.work_ids)}]
    assert result["already_gone"] == [gone.task_id]
    assert [entry["task_id"] for entry in result["failed"]] == [failing.task_id]
    assert result["failed"][0]["error"].startswith("500 ")
    assert fake.data.accounts[0].task(failing.task_id) is not None


def test_tasks_delete_one_failure_exits_1_and_names_it(fake: FakeKlingServer, kling: Any) -> None:
    email, tasks = two_tasks(fake)
    fake.add_faults(Fault.status(500), path=f"/tasks/{tasks[0].task_id}", method="DELETE")

    run = kling("tasks", "delete", *(str(t.task_id) for t in tasks), "--email", email, "--yes")

    assert run.status == 1
    assert run.lines[0].startswith(f"failed        {tasks[0].task_id}: 500 ")
    assert run.lines[1].startswith(f"deleted       {tasks[1].task_id} (")
    assert run.lines[2].endswith("0 already gone, 1 failed")
    assert fake.data.accounts[0].deleted_task_ids == {tasks[1].task_id}


def test_tasks_delete_already_gone_is_not_a_failure(fake: FakeKlingServer, kling: Any) -> None:
    email = fake.emails[0]

    run = kling("tasks", "delete", "12345", "--email", email, "--yes")

    assert run.status == 0, run.err
    assert run.lines == ["already gone  12345", "0 deleted (0 works), 1 already gone, 0 failed"]


@pytest.mark.parametrize("typed", ["n\n", "\n", "yes please\n", ""], ids=repr)
def test_tasks_delete_on_a_terminal_answered_other_than_yes_deletes_nothing(
    fake: FakeKlingServer, kling: Any, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    email, tasks = two_tasks(fake)
    on_a_terminal(monkeypatch, typed)

    run = kling("tasks", "delete", *(str(t.task_id) for t in tasks), "--email", email)

    assert run.status == 1
    assert run.out == ""
    # The terminal echoes what is typed; at the end of input the CLI ends the line itself.
    after = "[y/N] " + ("" if typed else "\n") + "kling-async: not confirmed: nothing was deleted\n"
    assert run.err.endswith(f"Delete 2 tasks and all their works? This cannot be undone {after}")
    assert fake.requests == []


@pytest.mark.parametrize("typed", ["y\n", "YES\n", " y \n"], ids=repr)
def test_tasks_delete_on_a_terminal_answered_yes_deletes(
    fake: FakeKlingServer, kling: Any, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    email, tasks = two_tasks(fake)
    on_a_terminal(monkeypatch, typed)

    run = kling("tasks", "delete", str(tasks[0].task_id), "--email", email)

    assert run.status == 0, run.err
    assert "Delete 1 task and all its works? This cannot be undone [y/N] " in run.err
    assert fake.data.accounts[0].deleted_task_ids == {tasks[0].task_id}


@pytest.mark.parametrize("typed", [None, "n\n"], ids=["no-terminal", "answered-no"])
@pytest.mark.parametrize("command", [["tasks", "delete", "1"], ["uploads", "delete", "1"]])
def test_a_delete_not_confirmed_closes_its_client(
    fake: FakeKlingServer,
    kling: Any,
    monkeypatch: pytest.MonkeyPatch,
    typed: str | None,
    command: list[str],
) -> None:
    closed = []
    aclose = KlingClient.aclose

    async def counted(client: KlingClient) -> None:
        closed.append(client)
        await aclose(client)

    monkeypatch.setattr(KlingClient, "aclose", counted)
    if typed is not None:
        on_a_terminal(monkeypatch, typed)

    run = kling("--http", "aiohttp", *command, "--email", fake.emails[0])

    assert run.status == (1 if typed else 2)
    assert len(closed) == 1
    assert fake.requests == []


def test_tasks_delete_preview_lists_twenty_ids_then_how_many_more(
    fake: FakeKlingServer, kling: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch, "n\n")
    ids = [str(1000 + n) for n in range(25)]

    run = kling("tasks", "delete", *ids, "1000", "--email", fake.emails[0])

    lines = run.err.splitlines()
    assert (
        lines[0] == f"About to delete 25 tasks and all their works on {fake.emails[0]}, for good:"
    )
    assert lines[1:21] == [f"  {id_}" for id_ in ids[:20]]
    assert lines[21] == "  ... and 5 more (--dry-run lists them all)"
    assert fake.requests == []


def test_tasks_delete_rejects_a_bad_id_before_asking(
    fake: FakeKlingServer, kling: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_terminal(monkeypatch, "y\n")

    run = kling("tasks", "delete", "1", "x1", "--email", fake.emails[0])

    assert run.status == 2
    assert run.err == (
        "kling-async: error: TASK_ID: 'x1' is not a numeric ID (ASCII digits, at most 40)\n"
    )
    assert fake.requests == []


def answer_in_a_terminal(
    command: list[str], env: dict[str, str], typed: bytes | None
) -> tuple[int, str]:
    """Run ``command`` on a pseudo-terminal; type ``typed`` once it asks (None: Ctrl-C, as
    SIGINT); all it showed."""
    controller, terminal = os.openpty()
    shown = bytearray()
    with subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, env=env
    ) as process:
        os.close(terminal)
        try:
            while True:
                ready, _, _ = select.select([controller], [], [], 60)
                assert ready, f"no output for 60 s; so far: {bytes(shown[-2000:])!r}"
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: every process holding the terminal has ended
                    break
                if not chunk:
                    break
                shown += chunk
                if shown.endswith(b"[y/N] "):
                    if typed is None:
                        process.send_signal(signal.SIGINT)
                    else:
                        os.write(controller, typed)
        finally:
            os.close(controller)
        status = process.wait(timeout=60)
    return status, shown.decode(errors="replace")


def script() -> list[str]:
    return [sys.executable, "-m", "kling_async"]


@pytest.mark.parametrize(("typed", "status"), [(b"n\n", 1), (b"y\n", 0)])
def test_tasks_delete_asks_on_a_real_terminal(
    fake: FakeKlingServer, typed: bytes, status: int
) -> None:
    email, tasks = two_tasks(fake)
    env = {**os.environ, "USEAPI_TOKEN": fake.token, "USEAPI_BASE_URL": fake.base_url}
    command = [*script(), "tasks", "delete", str(tasks[0].task_id), "--email", email]

    ended, shown = answer_in_a_terminal(command, env, typed)

    assert ended == status, shown
    assert f"About to delete 1 task and all its works on {email}, for good:" in shown
    assert "This cannot be undone [y/N] " in shown
    assert fake.token not in shown
    deleted = fake.data.accounts[0].deleted_task_ids
    if status:
        assert "not confirmed: nothing was deleted" in shown
        assert deleted == set()
    else:
        assert f"deleted       {tasks[0].task_id} (" in shown
        assert deleted == {tasks[0].task_id}


def test_ctrl_c_at_the_question_exits_130_and_deletes_nothing(fake: FakeKlingServer) -> None:
    email, tasks = two_tasks(fake)
    env = {**os.environ, "USEAPI_TOKEN": fake.token, "USEAPI_BASE_URL": fake.base_url}
    command = [*script(), "tasks", "delete", str(tasks[0].task_id), "--email", email]

    ended, shown = answer_in_a_terminal(command, env, None)

    assert ended == 130, shown
    assert "[y/N] \r\nkling-async: interrupted" in shown
    assert "Traceback" not in shown
    assert fake.requests == []


def test_a_listing_whose_reader_goes_away_ends_quietly(
    portal: anyio.from_thread.BlockingPortal,
) -> None:
    # More lines than a pipe holds (64 KiB): the command is still writing when the reader goes.
    server = FakeKlingServer(accounts=1, works_per_account=1500, seed=3)
    with portal.wrap_async_context_manager(server) as big:
        env = {**os.environ, "USEAPI_TOKEN": big.token, "USEAPI_BASE_URL": big.base_url}
        command = [*script(), "tasks", "list", "--page-size", "100"]
        with subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as process:
            assert process.stdout is not None
            assert process.stdout.readline()
            process.stdout.close()  # as `| head -1` does
            _, err = process.communicate(timeout=60)
        listed = sum(1 for request in big.requests if request.api_path == "/tasks")

    assert process.returncode == 1
    assert err == b""
    assert listed < len(server.data.accounts[0].tasks) / 100  # it stopped listing


# -- uploads delete: the same confirmation --------------------------------------------------------


def test_uploads_delete_without_a_terminal_or_yes_exits_2_and_deletes_nothing(
    fake: FakeKlingServer, kling: Any
) -> None:
    account = fake.data.accounts[0]

    run = kling("uploads", "delete", "--email", account.email, account.uploads[0].id)

    assert run.status == 2
    assert run.err.count("\n") == 1
    assert "not deleting 1 uploaded file without confirmation" in run.err
    assert fake.requests == []


def test_uploads_delete_dry_run_sends_nothing(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    ids = [upload.id for upload in account.uploads[:2]]

    run = kling("uploads", "delete", "--email", account.email, *ids, "--dry-run")

    assert run.status == 0, run.err
    assert run.json() == {"dry_run": True, "would_delete": ids}
    assert fake.requests == []


def test_uploads_delete_on_a_terminal_answered_no_deletes_nothing(
    fake: FakeKlingServer, kling: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = fake.data.accounts[0]
    ids = [upload.id for upload in account.uploads[:2]]
    on_a_terminal(monkeypatch, "n\n")

    run = kling("uploads", "delete", "--email", account.email, *ids)

    assert run.status == 1
    assert run.err.splitlines()[:3] == [
        f"About to delete 2 uploaded files on {account.email}, for good:",
        *(f"  {id_}" for id_ in ids),
    ]
    assert "Delete 2 uploaded files? This cannot be undone [y/N] " in run.err
    assert fake.requests == []
    assert account.deleted_upload_ids == set()


def test_uploads_delete_on_a_terminal_answered_yes_deletes(
    fake: FakeKlingServer, kling: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = fake.data.accounts[0]
    on_a_terminal(monkeypatch, "y\n")

    run = kling("uploads", "delete", "--email", account.email, account.uploads[0].id)

    assert run.status == 0, run.err
    assert run.json()["deleted"] == [account.uploads[0].id]
    assert account.deleted_upload_ids == {account.uploads[0].id}


# -- uploads add ----------------------------------------------------------------------------------


def files(folder: Path, **sizes: int) -> list[str]:
    """Files named after the keywords (``a_png=100`` is a.png of 100 bytes), sparse."""
    paths = []
    for name, size in sizes.items():
        path = folder / name.replace("_", ".")
        with path.open("wb") as file:
            file.truncate(size)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("loop", LOOPS)
def test_uploads_add_prints_each_new_asset_id(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, loop: list[str]
) -> None:
    account = fake.data.accounts[1]
    paths = files(tmp_path, a_png=1000, b_mp4=3000, c_mp3=2000)

    run = kling(*loop, "uploads", "add", *paths, "--email", account.email)

    assert run.status == 0, run.err
    newest = account.live_uploads[:3]  # newest first: the last upload is first
    by_name = {upload.name: upload for upload in newest}
    assert len(run.lines) == 4
    for path, line in zip(paths, run.lines, strict=False):
        words = line.split()
        assert words[:2] == ["uploaded", path]
        assert words[2] == "id"
        assert by_name[words[5]].id == words[3]
    assert {by_name[line.split()[5]].content_type for line in run.lines[:3]} == {
        "image", "video", "audio",
    }  # fmt: skip
    assert run.lines[3] == "3 uploaded, 0 failed"
    assert len(requests_to(fake, "POST", "/assets")) == 3


def test_uploads_add_json(fake: FakeKlingServer, kling: Any, tmp_path: Path) -> None:
    account = fake.data.accounts[0]
    (path,) = files(tmp_path, photo_jpeg=500)

    run = kling("uploads", "add", path, "--email", account.email, "--json")

    assert run.status == 0, run.err
    (uploaded,) = run.json()["uploaded"]
    assert run.json()["failed"] == []
    assert uploaded["file"] == path
    assert uploaded["id"] == account.live_uploads[0].id
    assert uploaded["upload"]["fileName"] == account.live_uploads[0].name
    assert uploaded["upload"]["status"] == 3
    post = requests_to(fake, "POST", "/assets")[0]
    assert post.headers["content-type"] == "image/jpeg"


def test_uploads_add_content_type_applies_to_every_file(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    paths = files(tmp_path, clip_bin=100, other_dat=100)

    run = kling("uploads", "add", *paths, "--email", fake.emails[0], "--content-type", "Video/MP4")

    assert run.status == 0, run.err
    posts = requests_to(fake, "POST", "/assets")
    assert [post.headers["content-type"] for post in posts] == ["video/mp4", "video/mp4"]


@pytest.mark.parametrize(
    ("sizes", "problem"),
    [
        ({"a_gif": 10}, "'a.gif': POST /assets does not take .gif files"),
        ({"a_png": 0}, "'PATH' is empty"),
        ({"a_png": 10 * 1024 * 1024 + 1}, "'PATH' is 10,485,761 bytes (10.0 MB)"),
    ],
    ids=["type", "empty", "too-large"],
)
def test_uploads_add_a_bad_file_stops_everything_before_any_request(
    fake: FakeKlingServer, kling: Any, tmp_path: Path, sizes: dict[str, int], problem: str
) -> None:
    good = files(tmp_path, good_png=100)
    bad = files(tmp_path, **sizes)

    run = kling("uploads", "add", *good, *bad, "--email", fake.emails[0])

    assert run.status == 2
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith(
        "kling-async: error: 1 file of 2 cannot be uploaded, so none was sent"
    )
    assert problem.replace("PATH", bad[0]) in run.err
    assert fake.requests == []


def test_uploads_add_names_every_bad_file(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    missing, folder = str(tmp_path / "missing.png"), str(tmp_path)

    run = kling("uploads", "add", missing, folder, "--email", fake.emails[0])

    assert run.status == 2
    assert "2 files of 2 cannot be uploaded" in run.err
    assert f"{missing!r}: cannot read it (No such file or directory)" in run.err
    assert f"{folder!r} is not a regular file" in run.err
    assert fake.requests == []


def test_uploads_add_bad_content_type_is_a_usage_error(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    paths = files(tmp_path, a_png=10)

    run = kling("uploads", "add", *paths, "--content-type", "image/gif")

    assert run.status == 2
    assert "argument --content-type: content_type 'image/gif' is not one" in run.err
    assert fake.requests == []


def test_uploads_add_one_failed_upload_exits_1_and_the_others_go_through(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    account = fake.data.accounts[0]
    paths = files(tmp_path, a_png=100, b_png=100)
    fake.add_faults(Fault.status(500), path="/assets", method="POST")

    run = kling("uploads", "add", *paths, "--email", account.email, "--concurrency", "1")

    assert run.status == 1
    assert run.lines[0].startswith(f"failed    {paths[0]}: 500 ")
    assert run.lines[1].startswith(f"uploaded  {paths[1]}  id {account.live_uploads[0].id} ")
    assert run.lines[2] == "1 uploaded, 1 failed"


def test_uploads_add_a_200_reporting_failure_is_a_failed_file(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    paths = files(tmp_path, a_png=100)
    fake.add_faults(Fault.body({"status": 0, "message": "rejected"}), path="/assets", method="POST")

    run = kling("uploads", "add", *paths, "--email", fake.emails[0], "--json")

    assert run.status == 1
    assert run.json()["uploaded"] == []
    (failed,) = run.json()["failed"]
    assert failed["file"] == paths[0]
    assert "rejected" in failed["error"]


def test_uploads_add_an_id_lookup_that_fails_leaves_the_id_unknown(
    fake: FakeKlingServer, kling: Any, tmp_path: Path
) -> None:
    paths = files(tmp_path, a_png=100)
    fake.add_faults(Fault.status(500), path="/assets/uploaded", method="GET")

    run = kling("uploads", "add", *paths, "--email", fake.emails[0])

    assert run.status == 0, run.err
    assert run.lines[0].startswith(f"uploaded  {paths[0]}  id -  name ")
    name = run.lines[0].split()[5]
    assert run.err == (
        "kling-async: the ID of 1 upload could not be looked up; "
        f"`kling-async uploads list --file-name {name}` lists one\n"
    )


# -- elements list and scheduler available --------------------------------------------------------


def test_elements_list_prints_one_line_per_element_newest_first(
    fake: FakeKlingServer, kling: Any
) -> None:
    account = fake.data.accounts[0]

    run = kling("elements", "list", "--email", account.email)

    assert run.status == 0, run.err
    assert [line.split()[0] for line in run.lines] == [element.id for element in account.elements]
    for line, element in zip(run.lines, account.elements, strict=True):
        assert element.name in line
        assert ("[favored]" in line) == element.favored
        assert line.split()[1] == element.type


def test_elements_list_filters_and_sorts(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[0]
    favored = [element.id for element in account.elements if element.favored][::-1]

    run = kling("elements", "list", "--email", account.email, "--favored", "--sort", "ASC")

    assert [line.split()[0] for line in run.lines] == favored
    query = requests_to(fake, "GET", "/elements")[0].query
    assert (query["favored"], query["sortDirection"]) == ("true", "ASC")
    assert "official" not in query


def test_elements_list_limit_and_json(fake: FakeKlingServer, kling: Any) -> None:
    account = fake.data.accounts[1]

    run = kling("elements", "list", "--email", account.email, "--limit", "2", "--json")

    assert run.status == 0, run.err
    assert [element["id"] for element in run.json()] == [e.id for e in account.elements[:2]]
    (request,) = requests_to(fake, "GET", "/elements")
    assert request.query["pageSize"] == "2"


def test_elements_list_with_none_says_so_on_stderr(fake: FakeKlingServer, kling: Any) -> None:
    run = kling("elements", "list", "--email", fake.emails[0], "--official")

    assert run.status == 0, run.err
    assert (run.out, run.err) == ("", "no elements\n")


def test_elements_list_page_size_over_100_exits_2_before_any_request(
    fake: FakeKlingServer, kling: Any
) -> None:
    run = kling("elements", "list", "--email", fake.emails[0], "--page-size", "101")

    assert run.status == 2
    assert fake.requests == []


def test_scheduler_available_prints_each_account_and_what_runs(
    fake: FakeKlingServer, kling: Any
) -> None:
    data = kling("scheduler", "available", "--json")
    run = kling("scheduler", "available")

    assert (data.status, run.status) == (0, 0)
    answer = data.json()
    assert [entry["email"] for entry in answer["available"]] == list(fake.emails)
    for entry, line in zip(answer["available"], run.lines, strict=False):
        assert line == (
            f"{entry['email']}  {entry['available']} of {entry['maxJobs']} free "
            f"({entry['executing']} running)"
        )
    free = sum(entry["available"] for entry in answer["available"])
    running = answer["executing"]
    assert run.lines[len(fake.emails)].startswith(f"{free} free in all; {len(running)} task")
    assert [int(line.split()[0]) for line in run.lines[len(fake.emails) + 1 :]] == [
        task["id"] for task in running
    ]
