"""Sphinx configuration: ``nox -s docs`` builds this folder into docs/_build/html."""

from __future__ import annotations

import sys
from pathlib import Path

import kling_async

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "kling_async"
author = "kling_async developers"
copyright = "kling_async developers"
release = version = kling_async.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "myst_parser",
    "sphinxarg.ext",
    "kling_sphinx",  # docs/_ext: napoleon for kling_async's docstrings, and their references
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "_inventories", "examples"]

# A reference that resolves to nothing fails the build (with -W).
nitpicky = True
default_role = "py:obj"  # `Name` in a docstring is a cross-reference
nitpick_ignore_regex = [
    # The type variables of generic classes and functions (K, R_co, P, ...): no pages of their own.
    ("py:(class|obj)", r"(kling_async\.[\w.]+\.)?[A-Z](_co)?"),
    # httpx2 publishes no Sphinx inventory that this build can reach; see _inventories/README.md.
    ("py:(class|obj|exc)", r"httpx2?\.\w+"),
]
nitpick_ignore = [
    # Private aliases in the signatures of classes the SDK builds for you (resources, page
    # iterators) and of KlingClient's httpx2-or-httpx arguments; each is described in words.
    ("py:class", "Requester"),
    ("py:class", "Pacer"),
    ("py:class", "AnyAsyncClient"),
    ("py:class", "AnyLimits"),
    ("py:class", "AnyTimeout"),
]

html_theme = "furo"
html_title = f"kling_async {release}"

myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"

# Inventories kept in the repository: the build needs no network (see _inventories/README.md).
INVENTORIES = HERE / "_inventories"
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", str(INVENTORIES / "python.inv")),
    "anyio": ("https://anyio.readthedocs.io/en/stable", str(INVENTORIES / "anyio.inv")),
    "attrs": ("https://www.attrs.org/en/stable", str(INVENTORIES / "attrs.inv")),
    "cattrs": ("https://catt.rs/en/stable", str(INVENTORIES / "cattrs.inv")),
}
