"""Every code example of the README and of docs/ type-checks under ``mypy --strict``, and runs.

Two kinds of examples:

- Python blocks in Markdown (README.md, docs/**/*.md). A block that defines a function or
  class at its top level is a whole module: it is checked as it is, and run as a script
  (``python block.py``, so ``if __name__ == "__main__":`` runs its main). The other blocks of
  a document are snippets, read in order as one program (a later snippet may use a name an
  earlier one defined), wrapped in an ``async def`` so that top-level ``await``, ``async with``
  and ``async for`` are allowed, and awaited in the test's event loop.
- Files under docs/examples/, which the pages show with ``literalinclude``: each has its own
  test below, which runs it and checks what it did to the fake server.

Everything runs against a `FakeKlingServer`, found through ``USEAPI_TOKEN`` and
``USEAPI_BASE_URL`` as a user's program finds the service, in a temporary working directory.
The examples' placeholder values (``me@example.com``, task ``123456789``, files such as
``clip.mp4``) become the fake's accounts, a task it holds and small sample files:
`placeholders` and `SAMPLE_FILES`. The blocks that are type-checked but not run are in
`NOT_RUN`, with the reason; nothing else is exempt.

Type checking is done the way a user's code would be: ``mypy --strict`` against the installed
package. Modules that are not installed here (e.g. OpenTelemetry) count as untyped.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx2
import pytest

from kling_async import ClientClosedError, KlingClient
from kling_async.testing import FakeKlingServer, Fault

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
DOCUMENTS = sorted(
    [ROOT / "README.md", *(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)]
)
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)

NOT_RUN = {
    ("README.md", "HTTPXClientInstrumentor"): (
        "OpenTelemetry's httpx instrumentation is not installed for the tests (and would patch"
        " encode/httpx for the whole process); the snippet is type-checked only"
    ),
}
"""The only examples not run: (document, a string the block contains) -> why."""

SAMPLE_FILES = {
    "reference.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
    "cat.png": b"\x89PNG\r\n\x1a\n" + bytes(32),
    "clip.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(64),
    "walk.mp4": b"\x00\x00\x00\x18ftypmp42" + bytes(32),
}
"""The files the examples upload, made in their working directory."""

DOCS_FAKE = pytest.mark.fake(accounts=3, works_per_account=12, uploads_per_account=14, seed=5)


def is_module(block: str) -> bool:
    """Whether ``block`` defines a function or class at its top level (a whole module)."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(block, "<example>", "exec", flags=flags, dont_inherit=True)
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, definitions) for node in tree.body)  # type: ignore[attr-defined]


def blocks(markdown: str) -> list[str]:
    """The Python blocks of ``markdown``, dedented, in order."""
    return [textwrap.dedent(body) for _, body in BLOCK.findall(markdown)]


def snippet_program(snippets: list[str], *, returns_locals: bool = False) -> str:
    """``snippets`` joined into one ``async def _example()``."""
    body = "\n".join(snippets).replace("from __future__ import annotations\n", "")
    if returns_locals:  # so the runner can close the clients the snippets leave open
        body = body.rstrip("\n") + "\nreturn locals()"
    return "async def _example() -> None:\n" + textwrap.indent(body.rstrip("\n"), "    ") + "\n"


def programs(markdown: str) -> list[str]:
    """The modules to type-check for ``markdown``: each whole module, then its snippets as one."""
    found = blocks(markdown)
    modules = [block for block in found if is_module(block)]
    snippets = [block for block in found if not is_module(block)]
    return modules + ([snippet_program(snippets)] if snippets else [])


def doc_id(path: Path) -> str:
    """A document's path from the repository's root: ``README.md``, ``docs/client.md``."""
    return str(path.relative_to(ROOT))


def not_run(document: str, block: str) -> bool:
    """Whether ``block`` of ``document`` is listed in `NOT_RUN`."""
    return any(name == document and marker in block for name, marker in NOT_RUN)


def runnable(path: Path) -> tuple[list[str], list[str]]:
    """The blocks of ``path`` to run: (modules, snippets), without those in `NOT_RUN`."""
    found = [block for block in blocks(path.read_text()) if not not_run(doc_id(path), block)]
    return [b for b in found if is_module(b)], [b for b in found if not is_module(b)]


WITH_SNIPPETS = [path for path in DOCUMENTS if runnable(path)[1]]
WITH_MODULES = [path for path in DOCUMENTS if runnable(path)[0]]


def placeholders(fake: FakeKlingServer) -> dict[str, str]:
    """The examples' placeholder values, and what stands for each on the fake server."""
    emails = fake.emails
    oldest_task = fake.data.accounts[0].tasks[-1]
    return {
        "me@example.com": emails[0],
        "you@example.com": emails[0],
        "a@example.com": emails[0],
        "b@example.com": emails[1],
        "c@example.com": emails[2],
        "second@example.com": emails[1],
        "123456789": str(oldest_task.task_id),
    }


def with_placeholders(source: str, fake: FakeKlingServer) -> str:
    for placeholder, value in placeholders(fake).items():
        source = source.replace(placeholder, value)
    return source


@pytest.fixture
def in_fake_environment(
    fake: FakeKlingServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point ``KlingClient()`` at the fake, and work in a fresh directory with the samples."""
    monkeypatch.setenv("USEAPI_TOKEN", fake.token)
    monkeypatch.setenv("USEAPI_BASE_URL", fake.base_url)
    monkeypatch.chdir(tmp_path)
    for name, content in SAMPLE_FILES.items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


def load_example(name: str) -> ModuleType:
    """Import docs/examples/<name>.py under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- type checks --------------------------------------------------------------------------------


def test_every_document_with_examples_is_found() -> None:
    found = {doc_id(path) for path in DOCUMENTS if programs(path.read_text())}
    expected = {"README.md", "docs/batch.md", "docs/client.md", "docs/errors.md"}
    assert expected | {"docs/testing.md", "docs/models.md", "docs/export.md"} <= found


def test_the_readme_and_docs_examples_pass_mypy_strict(tmp_path: Path) -> None:
    files = []
    for path in DOCUMENTS:
        for index, source in enumerate(programs(path.read_text())):
            target = tmp_path / f"example_{path.stem.lower().replace('-', '_')}_{index}.py"
            target.write_text(source)
            files.append(target)
    files.extend(sorted(EXAMPLES.glob("*.py")))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--ignore-missing-imports",
            "--no-error-summary",
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("no code\n", []),
        ("```python\nx = 1\n```\n", ["async def _example() -> None:\n    x = 1\n"]),
        (
            "- item:\n\n  ```python\n  await f()\n  ```\n```bash\nls\n```\n",
            ["async def _example() -> None:\n    await f()\n"],
        ),
        (
            "```python\nx = 1\n```\n```python\ndef f() -> None: ...\n```\n"
            "```python\nawait g(x)\n```\n",
            [
                "def f() -> None: ...\n",
                "async def _example() -> None:\n    x = 1\n\n    await g(x)\n",
            ],
        ),
    ],
)
def test_modules_stand_alone_and_snippets_are_joined_and_wrapped(
    markdown: str, expected: list[str]
) -> None:
    assert programs(markdown) == expected


# -- what is run, and what is not --------------------------------------------------------------


def test_every_example_not_run_is_a_block_that_exists() -> None:
    texts = {doc_id(path): path.read_text() for path in DOCUMENTS}
    for (document, marker), reason in NOT_RUN.items():
        assert reason
        assert sum(marker in block for block in blocks(texts[document])) == 1, (document, marker)


def test_every_example_file_is_shown_on_a_page() -> None:
    shown = "\n".join(path.read_text() for path in DOCUMENTS)
    for example in EXAMPLES.glob("*.py"):
        assert f"examples/{example.name}" in shown, example.name


# -- Markdown blocks, run -----------------------------------------------------------------------


@pytest.mark.anyio
@DOCS_FAKE
@pytest.mark.parametrize("document", WITH_SNIPPETS, ids=doc_id)
async def test_the_snippets_of_each_document_run(
    document: Path, fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    _, snippets = runnable(document)
    source = with_placeholders(snippet_program(snippets, returns_locals=True), fake)
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(source, f"<{doc_id(document)} snippets>", "exec"), namespace)
    left = await namespace["_example"]()
    for value in left.values():  # what the document's "one per application" client leaves open
        if isinstance(value, KlingClient):
            await value.aclose()
    if "FakeKlingServer(" not in source:  # else they bring their own
        assert fake.requests, "the snippets sent nothing to the fake server"


@pytest.mark.anyio
@DOCS_FAKE
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # each block is its own process
@pytest.mark.parametrize("document", WITH_MODULES, ids=doc_id)
async def test_the_whole_modules_of_each_document_run_as_scripts(
    document: Path, anyio_backend: str, fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    modules, _ = runnable(document)
    for index, module in enumerate(modules):
        script = in_fake_environment / f"block_{index}.py"
        script.write_text(with_placeholders(module, fake))
        fake.reset_stats()
        result = await anyio.run_process(
            [sys.executable, str(script)], env=dict(os.environ), check=False
        )
        output = (result.stdout + result.stderr).decode()
        assert result.returncode == 0, f"{doc_id(document)} block {index}:\n{output}"
        assert fake.requests, f"{doc_id(document)} block {index} sent nothing:\n{output}"


# -- docs/examples, run -------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.fake(accounts=1, works_per_account=15)
async def test_first_call_lists_videos_and_asks_for_a_download(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    await load_example("first_call").main()
    paths = [request.path.removeprefix("/v1/kling") for request in fake.requests]
    assert paths == ["/assets", "/assets/download"]
    assert fake.requests[0].query["contentType"] == "video"


@contextlib.asynccontextmanager
async def web_app_client(app: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """The example app, started (its lifespan entered), and an HTTP client calling into it."""
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as http:
            yield http


@pytest.mark.anyio
@pytest.mark.fake(accounts=1, works_per_account=15)
async def test_web_app_answers_with_models_as_json_and_errors_as_statuses(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    app = load_example("web_app").app
    task = fake.data.accounts[0].tasks[0]
    async with web_app_client(app) as http:
        works = await http.get("/works")
        detail = await http.get(f"/tasks/{task.task_id}")
        unknown = await http.get("/tasks/999")
        not_a_number = await http.get("/tasks/abc")
        fake.add_faults(Fault.status(429, retry_after=120), path="/assets")
        busy = await http.get("/works")
        fake.add_faults(Fault.status(401))
        refused = await http.get("/works")
    assert works.status_code == 200
    assert [entry["task"]["id"] for entry in works.json()["history"]][:1] == [task.task_id]
    assert detail.status_code == 200
    assert detail.json()["done"] is True
    assert [work["work_id"] for work in detail.json()["works"]] == list(task.work_ids)
    assert (unknown.status_code, not_a_number.status_code) == (404, 400)
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "120")
    assert refused.status_code == 502


@pytest.mark.anyio
async def test_web_app_makes_one_client_and_closes_it(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    app = load_example("web_app").app
    async with web_app_client(app) as http:
        client = app.state.kling
        await http.get("/works")
        await http.get("/works")
        assert app.state.kling is client
    with pytest.raises(ClientClosedError):
        await client.assets.list()


@pytest.mark.anyio
@pytest.mark.fake(accounts=2, works_per_account=8)
async def test_export_library_exports_and_verifies_every_account(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    report = await load_example("export_library").main(in_fake_environment / "out")
    offering_mp4 = {
        (account.email, work_id)
        for account in fake.data.accounts
        for task in account.tasks
        if "MP4" in task.file_types
        for work_id in task.work_ids
    }
    assert report.downloaded == len(offering_mp4) > 0
    assert not report.failed
    for email, work_id in offering_mp4:
        file = in_fake_environment / "out" / email / f"{work_id}.mp4"
        assert file.read_bytes() == fake.expected_file_bytes(work_id, "MP4")


@pytest.mark.anyio
@pytest.mark.fake(accounts=3, works_per_account=8)
async def test_export_batch_downloads_every_video_of_every_account(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    folder = in_fake_environment / "videos"
    saved = await load_example("export_batch").main(folder)
    videos = {
        (account.email, work_id)
        for account in fake.data.accounts
        for task in account.tasks_of("video")
        for work_id in task.work_ids
    }
    assert saved == len(videos) > 0
    assert sorted(path.relative_to(folder) for path in folder.rglob("*")) == sorted(
        [Path(email) for email in fake.emails]
        + [Path(email, f"{work_id}.mp4") for email, work_id in videos]
    )
    email, work_id = min(videos)
    assert (folder / email / f"{work_id}.mp4").read_bytes() == fake.expected_file_bytes(
        work_id, "MP4"
    )


@pytest.mark.anyio
@pytest.mark.fake(accounts=3, works_per_account=25)
async def test_many_accounts_counts_each_accounts_videos(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    videos = await load_example("many_accounts").main()
    assert videos == {
        account.email: sum(task.work_count for task in account.tasks_of("video"))
        for account in fake.data.accounts
    }
    assert {request.path for request in fake.requests} >= {
        "/v1/kling/accounts",
        "/v1/kling/assets",
        "/v1/kling/scheduler/available",
    }


@pytest.mark.anyio
@pytest.mark.fake(accounts=2, works_per_account=10, uploads_per_account=13)
async def test_cleanup_counts_in_a_dry_run_and_deletes_everything_old_otherwise(
    fake: FakeKlingServer, in_fake_environment: Path
) -> None:
    cleanup = load_example("cleanup")
    await cleanup.main(dry_run=True)
    assert {request.method for request in fake.requests} == {"GET"}

    await cleanup.main(timedelta(days=1), dry_run=False)  # the fake's data is from 2025
    for account in fake.data.accounts:
        assert account.deleted_upload_ids == {upload.id for upload in account.uploads}
        assert account.deleted_task_ids == {task.task_id for task in account.tasks}


def test_the_pytest_example_passes_on_asyncio_and_trio(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(EXAMPLES / "test_with_fake_server.py"),
            "-p",
            "no:cacheprovider",
            "-q",
            "--basetemp",
            str(tmp_path / "basetemp"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout
