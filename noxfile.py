"""Developer tasks: ``nox -s tests lint typecheck`` is what CI runs (``.ci/run``, which adds
``tests_other_pythons``, ``docs`` and ``reliability``); ``nox -s reliability`` runs the
reliability suite and writes its report; ``nox -s docs`` builds the documentation site;
``nox -s bench`` measures."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True
# uv when it is installed (CI installs it beside nox): it builds a session's environment in
# seconds where venv and pip take about 20. Without uv, the standard venv and pip.
nox.options.default_venv_backend = "uv|venv"
# The Pythons are the machine's (pyenv's in CI): a missing one is an error, never a download.
nox.options.download_python = "never"

RUFF = "ruff>=0.17,<0.18"  # pinned: a new ruff can change formatting and rules
OTHER_PYTHONS = ["3.10", "3.12", "3.13"]

# The suite runs on two worker processes, whole test files to a worker (so module-scoped
# fixtures, such as the benchmarks' quick run, run once). Every test binds its own ephemeral
# port and writes only under its tmp_path, so they do not interfere. ``-- -n 0`` turns it off.
XDIST = "pytest-xdist>=3.5"
WORKERS = ("-n", "2", "--dist", "loadfile")
# tests/reliability is a long suite of its own that writes a report: `nox -s reliability`.
NOT_RELIABILITY = ("--ignore=tests/reliability",)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite on asyncio and trio, with coverage (tests/reliability excluded)."""
    session.install("-e", ".[dev]", XDIST)
    session.run(
        "pytest",
        *NOT_RELIABILITY,
        *WORKERS,
        "--cov=kling_async",
        "--cov-report=term-missing:skip-covered",
        *session.posargs,
    )


@nox.session(python=OTHER_PYTHONS)
def tests_other_pythons(session: nox.Session) -> None:
    """Run the test suite on the other supported Python versions (no coverage)."""
    session.install("-e", ".[dev]", XDIST)
    session.run("pytest", "-q", *NOT_RELIABILITY, *WORKERS, *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """Run the reliability suite (tests/reliability) and write docs/reliability.md."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "tests/reliability",
        "-p",
        "no:cacheprovider",
        "--reliability-report=docs/reliability.md",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff: lint rules and formatting (Python and the code in Markdown)."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy --strict."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "kling_async")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into docs/_build/html; a warning (a broken link) fails it.

    ``-E`` reads every page afresh, so a warning is never hidden by an earlier build.
    """
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-n",
        "-E",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and write benchmarks/results/."""
    session.install("-e", ".[dev,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)
