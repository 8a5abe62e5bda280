"""Every public name has a docstring and a place in the API reference (docs/api/*.md).

The public names are the ``__all__`` of `kling_async`, `kling_async.batch`,
`kling_async.export` and `kling_async.testing`. The reference pages name each one in an
autodoc directive (``.. autoclass:: KlingClient`` under ``.. currentmodule:: kling_async``);
these tests read those directives, so they need no Sphinx, and ``nox -s docs`` checks that
each directive documents something real.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

import kling_async

ROOT = Path(__file__).resolve().parent.parent
API_PAGES = sorted((ROOT / "docs" / "api").glob("*.md"))
PUBLIC_MODULES = ("kling_async", "kling_async.batch", "kling_async.export", "kling_async.testing")
DIRECTIVE = re.compile(r"^\.\. (currentmodule|auto\w+|py:\w+):: +(\S+)", re.MULTILINE)

DOCUMENTED_PRIVATE = {"kling_async._types.TimeoutTypes"}
"""Names the reference documents although no public module exports them, and why: a type alias
that public signatures use (``timeout: TimeoutTypes | NotGiven``)."""


def public_names() -> list[str]:
    return [
        f"{module}.{name}"
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
    ]


def documented_in(text: str) -> set[str]:
    """The full names the autodoc directives of one reference page document."""
    names: set[str] = set()
    current = ""
    for directive, argument in DIRECTIVE.findall(text):
        if directive == "currentmodule":
            current = argument
        elif argument.startswith("kling_async") or not current:
            names.add(argument)
        else:
            names.add(f"{current}.{argument}")
    return names


def documented() -> set[str]:
    return set().union(*(documented_in(page.read_text()) for page in API_PAGES))


@cache
def attribute_docstrings() -> dict[str, list[tuple[object, str]]]:
    """Every documented module-level assignment of the package: name -> [(value, doc)].

    Documented as Sphinx reads it: a string right after the assignment, or ``#:`` comment
    lines right before it.
    """
    found: dict[str, list[tuple[object, str]]] = {}
    for module in package_modules():
        source = inspect.getsource(module)
        lines = source.splitlines()
        tree = ast.parse(source)
        for index, statement in enumerate(tree.body):
            if isinstance(statement, ast.Assign):
                targets = statement.targets
            elif isinstance(statement, ast.AnnAssign):
                targets = [statement.target]
            else:
                continue
            following = tree.body[index + 1] if index + 1 < len(tree.body) else None
            if (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                doc = following.value.value
            else:
                above = statement.lineno - 2
                comments = []
                while above >= 0 and lines[above].startswith("#:"):
                    comments.insert(0, lines[above].removeprefix("#:").strip())
                    above -= 1
                doc = " ".join(comments)
            for target in targets:
                if doc and isinstance(target, ast.Name) and hasattr(module, target.id):
                    value = getattr(module, target.id)
                    found.setdefault(target.id, []).append((value, doc))
    return found


def package_modules() -> Iterator[ModuleType]:
    yield kling_async
    for info in pkgutil.walk_packages(kling_async.__path__, prefix="kling_async."):
        if not info.name.endswith("__main__"):  # importing it would run the command
            yield importlib.import_module(info.name)


def docstring_of(full_name: str) -> str | None:
    """The docstring a reader of ``full_name`` sees: its own, or the one under its definition."""
    module_name, _, name = full_name.rpartition(".")
    value = getattr(importlib.import_module(module_name), name)
    if inspect.isclass(value) or inspect.isfunction(value):
        return vars(value).get("__doc__") if inspect.isclass(value) else value.__doc__
    for candidate, doc in attribute_docstrings().get(name, []):
        if candidate is value:
            return doc
    return None


def test_the_reference_pages_are_read() -> None:
    names = documented()
    assert "kling_async.KlingClient" in names
    assert "kling_async.batch.iter_pages" in names
    assert "kling_async.testing.FakeKlingServer" in names
    page = ".. currentmodule:: kling_async.b\n\n.. autoclass:: C\n.. autodata:: kling_async.x.Y\n"
    assert documented_in(page) == {"kling_async.b.C", "kling_async.x.Y"}


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_is_in_the_api_reference(name: str) -> None:
    assert name in documented(), f"{name} is in __all__ but on no page of docs/api/"


def test_the_api_reference_documents_only_public_names() -> None:
    assert documented() - set(public_names()) - set(PUBLIC_MODULES) == DOCUMENTED_PRIVATE


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_has_a_docstring(name: str) -> None:
    doc = docstring_of(name)
    assert doc is not None
    assert doc.strip(), f"{name} has no docstring"


def public_members() -> list[str]:
    """``Class.member`` for the methods and properties public classes define themselves."""
    found = []
    for full_name in public_names():
        module_name, _, name = full_name.rpartition(".")
        value = getattr(importlib.import_module(module_name), name)
        if not inspect.isclass(value) or issubclass(value, enum.Enum):
            continue
        for member, attribute in vars(value).items():
            if member.startswith("_"):
                continue
            function = attribute.__func__ if isinstance(attribute, classmethod) else attribute
            if inspect.isfunction(function) or isinstance(attribute, property):
                found.append(f"{full_name}.{member}")
    return found


@pytest.mark.parametrize("name", public_members())
def test_every_public_method_and_property_has_a_docstring(name: str) -> None:
    module_name, class_name, member = name.rsplit(".", 2)
    cls = getattr(importlib.import_module(module_name), class_name)
    attribute = vars(cls)[member]
    doc = (attribute.__func__ if isinstance(attribute, classmethod) else attribute).__doc__
    assert doc, f"{name} has no docstring"
    assert doc.strip(), f"{name} has no docstring"
