"""The code examples of the README and of docs/ type-check under ``mypy --strict``.

Each Markdown file's ``python`` blocks are read in order as one program (a later block may use
a name an earlier one defined), wrapped in an ``async def`` so that top-level ``await``,
``async with`` and ``async for`` are allowed, and checked the way a user's code would be:
``mypy --strict`` against the installed package. Modules that are not installed here (e.g.
OpenTelemetry) count as untyped.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def program(markdown: str) -> str | None:
    """The ``python`` blocks of ``markdown`` as one module, or None when there are none."""
    blocks = [textwrap.dedent(body) for _, body in BLOCK.findall(markdown)]
    if not blocks:
        return None
    body = "\n".join(blocks).replace("from __future__ import annotations\n", "")
    return "async def _example() -> None:\n" + textwrap.indent(body, "    ") + "\n"


def test_every_document_with_examples_is_found() -> None:
    found = {path.name for path in DOCUMENTS if program(path.read_text()) is not None}
    assert {"README.md", "batch.md", "client.md", "errors.md", "testing.md"} <= found


def test_the_readme_and_docs_examples_pass_mypy_strict(tmp_path: Path) -> None:
    files = []
    for path in DOCUMENTS:
        source = program(path.read_text())
        if source is not None:
            target = tmp_path / f"example_{path.stem.lower()}.py"
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
        ("no code\n", None),
        ("```python\nx = 1\n```\n", "async def _example() -> None:\n    x = 1\n"),
        (
            "- item:\n\n  ```python\n  await f()\n  ```\n```bash\nls\n```\n",
            "async def _example() -> None:\n    await f()\n",
        ),
    ],
)
def test_blocks_are_collected_dedented_and_wrapped(markdown: str, expected: str | None) -> None:
    assert program(markdown) == expected
