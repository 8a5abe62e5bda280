"""The reliability suite: cases counted per area, and a report of what held.

Every test module here sets ``AREA`` (a short name, e.g. ``"fault matrix"``); each test item
(each parametrized case, on each backend) is one case of that area. A test that runs many
examples of its own (hypothesis, a soak) adds them with the `ledger` fixture, and may record
figures (``ledger.figure("soak", "peak RSS at 10,000 requests", "41.2 MB")``).

``pytest tests/reliability --reliability-report=docs/reliability.md`` writes the table of
cases tried, held and failed per area, and the figures, when the run ends. The report needs a
run in one process: under pytest-xdist (as CI runs the suite, for pass or fail) nothing is
written.
"""

from __future__ import annotations

import datetime
import platform
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

AREAS = (
    "fault matrix",
    "bad input",
    "batch invariants",
    "secret scan",
    "soak",
    "export kill and resume",
)
"""The areas, in the order the report lists them."""


@attrs.define
class Tally:
    """Cases of one area."""

    tried: int = 0
    held: int = 0
    failed: list[str] = attrs.Factory(list)


@attrs.define
class Ledger:
    """What the suite tried, per area, and the figures it measured."""

    areas: dict[str, Tally] = attrs.Factory(lambda: defaultdict(Tally))
    figures: dict[str, list[tuple[str, str]]] = attrs.Factory(lambda: defaultdict(list))
    examples: dict[str, int] = attrs.Factory(lambda: defaultdict(int))

    def examples_run(self, area: str, count: int) -> None:
        """Note ``count`` generated examples (hypothesis, soak requests) inside one case."""
        self.examples[area] += count

    def figure(self, area: str, name: str, value: str) -> None:
        """Record a measured figure for the report."""
        self.figures[area].append((name, value))

    def outcome(self, area: str, case: str, *, held: bool) -> None:
        """Count one case of ``area``."""
        tally = self.areas[area]
        tally.tried += 1
        if held:
            tally.held += 1
        else:
            tally.failed.append(case)


_LEDGER = Ledger()


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    """The session's ledger, for examples and figures."""
    return _LEDGER


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability-report",
        metavar="PATH",
        default=None,
        help="write the reliability table (Markdown) to PATH when the run ends",
    )


def _area_of(item: pytest.Item) -> str:
    module = getattr(item, "module", None)
    return str(getattr(module, "AREA", "other"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    if report.when == "call" or (report.when == "setup" and report.failed):
        _LEDGER.outcome(_area_of(item), item.nodeid, held=report.passed)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--reliability-report")
    if hasattr(session.config, "workerinput"):  # a pytest-xdist worker: it saw only a part
        return
    if path and _LEDGER.areas:
        Path(path).write_text(render(_LEDGER), encoding="utf-8")


def render(ledger: Ledger) -> str:
    """The report, in Markdown."""
    names = [a for a in AREAS if a in ledger.areas] + sorted(set(ledger.areas) - set(AREAS))
    today = datetime.date.today().isoformat()
    lines = [
        "# Reliability",
        "",
        "What the reliability suite (`tests/reliability/`, run by `nox -s reliability`) tried",
        "against the fake useapi server over real loopback HTTP, and what held. A case is one",
        "test run: the async ones run three times (asyncio on httpx2, asyncio on aiohttp, trio),",
        "and each run counts; the export cases run the CLI in subprocesses, alternating the",
        "backend. A hypothesis test or a soak is one case, and the examples or requests it",
        "generated are counted beside it.",
        "Regenerate this page with `nox -s reliability`.",
        "",
        f"Last run: {today}, Python {platform.python_version()} on {sys.platform}.",
        "",
        "| area | cases tried | held | failed | generated examples inside the cases |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    total = Tally()
    for name in names:
        tally = ledger.areas[name]
        total.tried += tally.tried
        total.held += tally.held
        examples = ledger.examples.get(name, 0)
        lines.append(
            f"| {name} | {tally.tried:,} | {tally.held:,} | {len(tally.failed):,} | {examples:,} |"
            if examples
            else f"| {name} | {tally.tried:,} | {tally.held:,} | {len(tally.failed):,} | — |"
        )
    failed = total.tried - total.held
    lines.append(f"| **all** | **{total.tried:,}** | **{total.held:,}** | **{failed:,}** | |")
    for name in names:
        if ledger.figures.get(name):
            lines += ["", f"## {name[:1].upper()}{name[1:]}: figures", ""]
            lines += ["| figure | value |", "| --- | --- |"]
            lines += [f"| {figure} | {value} |" for figure, value in ledger.figures[name]]
    failures = [(name, case) for name in names for case in ledger.areas[name].failed]
    if failures:
        lines += ["", "## Cases that failed", ""]
        lines += [f"- {name}: `{case}`" for name, case in failures]
    return "\n".join(lines) + "\n"
