"""What the docs build adds to autodoc for kling_async's docstrings (loaded by docs/conf.py).

- Google-style sections (``Args:``, ``Attributes:``) through napoleon, except in the docstrings
  of attributes, properties and module data: napoleon reads ``word: text`` at their start as a
  type, and these docstrings are written ``What it is: how it behaves``.
- A re-exported constant or type alias (``kling_async.DEFAULT_BASE_URL``, defined in
  ``kling_async._client``) gets the docstring written under its definition, not the docstring
  of its type (``str``).
- A name in single backticks resolves to the one documented object of that name, wherever it
  is (`RetryPolicy` in a ``kling_async.batch`` docstring), as Sphinx does for ``.RetryPolicy``.
  Two objects of the same name are still an error, and so is a name that matches none.
- Builtin type names in annotations (``bytes``, ``type``) link to Python's documentation, not
  to an attribute of the same name (``ManifestEntry.bytes``).
"""

from __future__ import annotations

import builtins
import importlib
import pkgutil
from functools import cache
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.ext import intersphinx
from sphinx.ext.napoleon import Config, GoogleDocstring
from sphinx.pycode import ModuleAnalyzer

PACKAGE = "kling_async"
NO_SECTIONS = frozenset({"attribute", "data", "property"})
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))

NAPOLEON = Config(
    napoleon_google_docstring=True,
    napoleon_numpy_docstring=False,
    napoleon_use_ivar=False,  # an Attributes entry is an object others can link to
    napoleon_use_param=True,
    napoleon_use_rtype=True,
    napoleon_attr_annotations=True,
    napoleon_custom_sections=[("Keys", "params_style")],  # the keys of a TypedDict
)
# Names that annotations hold as text (imported for type checking only), and what they mean.
ANNOTATION_NAMES = {
    "Path": "pathlib.Path",
    "Unpack": "typing.Unpack",
    "datetime": "datetime.datetime",
}


def google_sections(
    app: Sphinx, what: str, name: str, obj: object, options: Any, lines: list[str]
) -> None:
    """Turn the Google-style sections of ``lines`` into reST, in place."""
    if what in NO_SECTIONS:
        return
    converted = GoogleDocstring(lines[:], NAPOLEON, app, what, name, obj, options).lines()
    lines[:] = converted


@cache
def attribute_docstrings() -> dict[str, list[tuple[object, list[str]]]]:
    """Every module-level attribute docstring in the package: name -> (value, lines)."""
    found: dict[str, list[tuple[object, list[str]]]] = {}
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE] + [
        info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}.")
    ]
    for module_name in names:
        if module_name.endswith(".__main__"):  # importing it would run the command
            continue
        module = importlib.import_module(module_name)
        analyzer = ModuleAnalyzer.for_module(module_name)
        for (scope, attribute), doc in analyzer.find_attr_docs().items():
            if scope == "" and hasattr(module, attribute):
                found.setdefault(attribute, []).append((getattr(module, attribute), list(doc)))
    return found


def reexported_data_docstring(name: str, obj: object) -> list[str] | None:
    """The docstring written under the definition of ``obj``, which ``name`` re-exports."""
    short = name.rpartition(".")[2]
    for value, lines in attribute_docstrings().get(short, []):
        if value is obj:
            return [line.rstrip("\n") for line in lines]
    return None


def data_docstrings(
    app: Sphinx, what: str, name: str, obj: object, options: Any, lines: list[str]
) -> None:
    """Give a re-exported constant or alias the docstring of its definition."""
    if what != "data" or not name.startswith(f"{PACKAGE}."):
        return
    written = reexported_data_docstring(name, obj)
    if written is not None:
        lines[:] = written


def builtins_from_python(app: Sphinx, doctree: nodes.document) -> None:
    """Look builtin names up exactly (then in Python's inventory), never by suffix."""
    for node in doctree.findall(pending_xref):
        if node.get("refdomain") == "py" and node.get("reftarget") in BUILTIN_NAMES:
            node.attributes.pop("refspecific", None)
            node["py:class"] = None


def resolve_by_name(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Element | None:
    """Resolve a name no module context explains to the one object of that name, if any.

    Any kind of object will do: an annotation's name (a ``class`` reference) may be a type
    alias, documented as data (`kling_async._types.TimeoutTypes`), when Python could not
    evaluate the annotation (3.10, names imported for type checking only).
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if target in ANNOTATION_NAMES:
        node["reftarget"] = ANNOTATION_NAMES[target]
        node["reftype"] = "obj"  # typing.Unpack is documented as data, not as a class
        return intersphinx.missing_reference(app, env, node, contnode)
    if target in BUILTIN_NAMES:
        return None
    node["refspecific"] = True
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node["refdoc"], app.builder, "obj", target, node, contnode)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the handlers (the docs build's own extension: no parallel-safety issues)."""
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", data_docstrings, priority=400)
    app.connect("autodoc-process-docstring", google_sections, priority=450)
    app.connect("doctree-read", builtins_from_python)
    app.connect("missing-reference", resolve_by_name, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
