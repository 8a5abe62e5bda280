"""The code examples of the README and of docs/ type-check under ``mypy --strict``.

A block that defines a function or class at its top level is a whole module and is checked as
it is. The other blocks of a Markdown file are snippets, read in order as one program (a later
snippet may use a name an earlier one defined), wrapped in an ``async def`` so that top-level
``await``, ``async with`` and ``async for`` are allowed. Both are checked the way a user's code
would be: ``mypy --strict`` against the installed package. Modules that are not installed here
(e.g. OpenTelemetry) count as untyped.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def is_module(block: str) -> bool:
    """Whether ``block`` defines a function or class at its top level (a whole module)."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(block, "<example>", "exec", flags=flags, dont_inherit=True)
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, definitions) for node in tree.body)  # type: ignore[attr-defined]


def programs(markdown: str) -> list[str]:
    """The modules to check for ``markdown``: each whole module, then its snippets as one."""
    blocks = [textwrap.dedent(body) for _, body in BLOCK.findall(markdown)]
    modules = [block for block in blocks if is_module(block)]
    snippets = [block for block in blocks if not is_module(block)]
    if snippets:
        body = "\n".join(snippets).replace("from __future__ import annotations\n", "")
        modules.append(
            "async def _example() -> None:\n" + textwrap.indent(body.rstrip("\n"), "    ") + "\n"
        )
    return modules


def test_every_document_with_examples_is_found() -> None:
    found = {path.name for path in DOCUMENTS if programs(path.read_text())}
    assert {"README.md", "batch.md", "client.md", "errors.md", "testing.md"} <= found


def test_the_readme_and_docs_examples_pass_mypy_strict(tmp_path: Path) -> None:
    files = []
    for path in DOCUMENTS:
        for index, source in enumerate(programs(path.read_text())):
            target = tmp_path / f"example_{path.stem.lower()}_{index}.py"
            target.write_text(source)
            files.append(target)
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
