"""``python -m benchmarks [--quick] [--only decode,fanout,...] [--rounds N] [--output DIR]``.

Runs the scenarios, prints one markdown table on stdout (progress goes to stderr) and, for a
full run, writes ``benchmarks/results/latest.md`` and ``latest.json`` and refreshes the table
in ``benchmarks/README.md``. ``--quick`` (tiny sizes, one round) is what the test suite runs;
it writes files only where ``--output`` says.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from . import chunks, decode, export, fanout, memory, overhead
from ._harness import Row, Settings, environment, log

SCENARIOS: dict[str, ModuleType] = {
    module.NAME: module for module in (decode, fanout, chunks, overhead, memory, export)
}

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
TABLE_START = "<!-- results:start -->"
TABLE_END = "<!-- results:end -->"
COLUMNS = ("scenario", "variant", "figure", "ratio", "target", "met")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure kling_async against its baselines; print a markdown table.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, one round (the test suite's run)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SCENARIOS),
        help=f"comma-separated scenarios (default: all of {','.join(SCENARIOS)})",
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds per scenario")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write latest.md and latest.json (default: benchmarks/results for a"
        " full run of every scenario; nowhere otherwise)",
    )
    parser.add_argument(
        "--memory-tracer",
        choices=("rss", "tracemalloc"),
        default="rss",
        help="how the memory scenario measures (default rss, where the OS allows it)",
    )
    return parser


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(" --- " for _ in COLUMNS) + "|",
    ]
    for row in rows:
        cells = [
            row.scenario,
            row.variant,
            row.figure_text(),
            "; ".join(ratio.text() for ratio in row.ratios) or "—",
            row.target or "—",
            {True: "yes", False: "**no**", None: "—"}[row.met],
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def summary(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    env = meta["environment"]
    versions = ", ".join(f"{name} {version}" for name, version in env["versions"].items())
    targets = [row for row in rows if row.met is not None]
    met = sum(1 for row in targets if row.met)
    return (
        f"Run {meta['finished']} with `{meta['command']}` in {meta['seconds']:.0f} s"
        f" ({'quick sizes' if meta['quick'] else 'full sizes'}); {met} of {len(targets)}"
        f" targets met.\n\n"
        f"Python {env['python']} ({env['implementation']}) on {env['platform']},"
        f" {env['cpus']} CPUs; {versions}.\n"
    )


def results_markdown(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    return (
        "# Benchmark results\n\n"
        + summary(rows, meta)
        + "\n"
        + markdown_table(rows)
        + "\nScenario notes, oracles and the explanation of every missed target:"
        " [benchmarks/README.md](../README.md).\n"
    )


def refresh_readme(rows: Sequence[Row], meta: dict[str, Any]) -> None:
    """Put the new table between the README's markers (left alone if they are missing)."""
    if not README.exists():
        return
    text = README.read_text(encoding="utf-8")
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        return
    block = f"{TABLE_START}\n{summary(rows, meta)}\n{markdown_table(rows)}\n"
    README.write_text(text[:start] + block + text[end:], encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        print(f"unknown scenario(s): {', '.join(unknown) or '(none given)'}", file=sys.stderr)
        return 2
    if args.rounds is not None and args.rounds < 1:
        print("--rounds must be at least 1", file=sys.stderr)
        return 2
    settings = Settings(quick=args.quick, rounds=args.rounds, memory_tracer=args.memory_tracer)
    full_run = not args.quick and set(names) == set(SCENARIOS)
    output: Path | None = args.output or (RESULTS if full_run else None)

    rows: list[Row] = []
    durations: dict[str, float] = {}
    started = time.perf_counter()
    for name in names:
        module = SCENARIOS[name]
        log(f"== {name}: {module.TITLE}")
        scenario_started = time.perf_counter()
        rows.extend(module.run(settings))
        durations[name] = round(time.perf_counter() - scenario_started, 1)
        log(f"== {name} done in {durations[name]:.1f} s")
    meta = {
        "finished": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m benchmarks", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "scenarios": names,
        "seconds": round(time.perf_counter() - started, 1),
        "scenario_seconds": durations,
        "environment": environment(),
    }
    print(markdown_table(rows), end="")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "latest.md").write_text(results_markdown(rows, meta), encoding="utf-8")
        document = {**meta, "rows": [row.to_json() for row in rows]}
        (output / "latest.json").write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        log(f"wrote {output / 'latest.md'} and {output / 'latest.json'}")
        if output.resolve() == RESULTS.resolve() and full_run:
            refresh_readme(rows, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
