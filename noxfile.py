"""Developer tasks: ``nox -s tests lint typecheck`` is what CI runs; ``nox -s bench`` measures."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

RUFF = "ruff>=0.17,<0.18"  # pinned: a new ruff can change formatting and rules
OTHER_PYTHONS = ["3.10", "3.12", "3.13"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite on asyncio and trio, with coverage."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest",
        "--cov=kling_async",
        "--cov-report=term-missing:skip-covered",
        *session.posargs,
    )


@nox.session(python=OTHER_PYTHONS)
def tests_other_pythons(session: nox.Session) -> None:
    """Run the test suite on the other supported Python versions (no coverage)."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-q", *session.posargs)


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
def bench(session: nox.Session) -> None:
    """Run the benchmarks and write benchmarks/results/."""
    session.install("-e", ".[dev,bench]")
    session.run("python", "-m", "benchmarks", *session.posargs)
