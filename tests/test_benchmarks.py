"""The benchmarks stay runnable: every scenario once at its tiniest size, nothing about time.

``python -m benchmarks --quick`` runs each scenario once with tiny sizes (against a fake server
in its own process, as in a full run); these tests check that it finishes and that every row
it reports is well formed, in the printed table and in the JSON.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("decode", "fanout", "chunks", "overhead", "memory", "export")
HEADER = "| scenario | variant | figure | ratio | target | met |"


def run_benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("bench")
    done = run_benchmarks("--output", str(output))
    assert done.returncode == 0, f"python -m benchmarks --quick failed:\n{done.stderr}"
    return {
        "stdout": done.stdout,
        "json": json.loads((output / "latest.json").read_text(encoding="utf-8")),
        "markdown": (output / "latest.md").read_text(encoding="utf-8"),
    }


@pytest.mark.parametrize("module", ["pydantic", "msgspec", "aiohttp"])
def test_bench_dependencies_are_installed(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        pytest.fail(f"{module} is missing: install the dev extra (pip install -e '.[dev]')")


def test_every_scenario_reports_rows(quick_run: dict[str, Any]) -> None:
    scenarios = [row["scenario"] for row in quick_run["json"]["rows"]]
    assert list(dict.fromkeys(scenarios)) == list(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rows_are_well_formed(quick_run: dict[str, Any], scenario: str) -> None:
    rows = [row for row in quick_run["json"]["rows"] if row["scenario"] == scenario]
    assert rows
    assert any(row["target"] is not None for row in rows), "every scenario states a target"
    for row in rows:
        assert isinstance(row["variant"], str)
        assert row["variant"]
        assert isinstance(row["figure"], (int, float))
        assert math.isfinite(row["figure"])
        assert row["figure"] >= 0
        assert row["unit"] in {"µs", "ms", "req/s", "B", "requests", "works/s", "MB/s"}
        for ratio in row["ratios"]:
            assert math.isfinite(ratio["value"])
            assert ratio["value"] >= 0
            assert ratio["baseline"]
        # A row has a verdict exactly when it has a target.
        assert (row["target"] is None) == (row["met"] is None)
        assert row["met"] in (True, False, None)
        if row["target"] is not None:
            assert row["ratios"], "a target is judged on the row's first ratio"


def test_printed_table_has_one_line_per_row(quick_run: dict[str, Any]) -> None:
    lines = quick_run["stdout"].splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 2 + len(quick_run["json"]["rows"])
    assert all(line.startswith("| ") and line.endswith(" |") for line in lines)
    assert all(line.count(" | ") == 5 for line in lines[2:])


def test_results_files_hold_the_table_and_the_run(quick_run: dict[str, Any]) -> None:
    assert quick_run["stdout"] in quick_run["markdown"]
    document = quick_run["json"]
    assert document["quick"] is True
    assert document["scenarios"] == list(SCENARIOS)
    assert document["environment"]["versions"]["httpx"]
    assert document["environment"]["versions"]["httpx2"]


OVERHEAD_CLIENTS = ("sdk", "sdk_aiohttp", "httpx2", "httpx", "aiohttp", "httpx2_aiohttp")
OVERHEAD_TARGETS = {"sdk": "bare httpx2 req/s", "sdk_aiohttp": "bare aiohttp req/s"}


def test_overhead_compares_every_client_at_both_concurrencies(quick_run: dict[str, Any]) -> None:
    rows = [row for row in quick_run["json"]["rows"] if row["scenario"] == "overhead"]
    found = {
        (row["details"]["client"], row["details"]["concurrency"], row["details"]["figure_kind"])
        for row in rows
    }
    expected = {
        (client, concurrency, kind)
        for client in OVERHEAD_CLIENTS
        for concurrency in (16, 64)
        for kind in ("throughput", "cpu")
    }
    assert found == expected
    assert len(rows) == len(expected)
    for row in rows:
        client = row["details"]["client"]
        if row["details"]["figure_kind"] == "throughput" and client in OVERHEAD_TARGETS:
            assert row["target"] is not None, row["variant"]
            assert row["ratios"][0]["baseline"] == OVERHEAD_TARGETS[client]
        else:
            assert row["target"] is None, row["variant"]


FANOUT_TARGETS = {
    "tuned": 0.95,
    "default": 0.95,
    "tuned_aiohttp": 1.10,
    "default_aiohttp": 1.10,
}


def test_fanout_runs_the_sdk_on_both_transports(quick_run: dict[str, Any]) -> None:
    rows = [row for row in quick_run["json"]["rows"] if row["scenario"] == "fanout"]
    timed = {row["details"]["client"]: row for row in rows if row["unit"] == "ms"}
    for oracle in ("oracle_httpx", "oracle_httpx2", "oracle_aiohttp", "oracle_models", "ideal"):
        assert oracle in timed
    for client, goal in FANOUT_TARGETS.items():
        row = timed[client]
        assert row["details"]["transport"] == ("aiohttp" if "aiohttp" in client else "httpx2")
        assert row["target"] == f"≥ {goal:.2f}x oracle speed"
        assert [ratio["baseline"] for ratio in row["ratios"]] == ["oracle speed", "ideal time"]
    overfetch = {row["details"]["client"] for row in rows if row["unit"] == "requests"}
    assert overfetch == set(FANOUT_TARGETS)
    assert {row["details"]["client"] for row in rows if row["target"]} == set(FANOUT_TARGETS)


def test_export_measures_each_concurrency_against_the_ideal_and_the_oracle(
    quick_run: dict[str, Any],
) -> None:
    rows = [
        row
        for row in quick_run["json"]["rows"]
        if row["scenario"] == "export" and row["unit"] in ("works/s", "MB/s")
    ]
    concurrencies = {row["details"]["concurrency"] for row in rows}
    assert {8, 16} <= concurrencies
    for c in concurrencies:
        clients = {
            row["details"]["client"]: row for row in rows if row["details"]["concurrency"] == c
        }
        assert set(clients) == {"ideal", "oracle", "export", "export_megabytes"}
        ideal = clients["ideal"]["details"]
        assert ideal["ideal_ms"] == (2 + math.ceil(ideal["works"] / c)) * ideal["latency_ms"]
        export = clients["export"]
        assert [ratio["baseline"] for ratio in export["ratios"]] == ["oracle speed", "ideal speed"]
        assert export["target"] == "≥ 0.95x oracle speed"
        # Every run fetched every work from the CDN exactly once.
        assert set(export["details"]["cdn_requests"]) == {ideal["works"]}
        assert clients["export_megabytes"]["unit"] == "MB/s"


def test_export_memory_holds_the_whole_listing_with_downloads_held(
    quick_run: dict[str, Any],
) -> None:
    rows = [
        row
        for row in quick_run["json"]["rows"]
        if row["scenario"] == "export" and row["unit"] == "B"
    ]
    assert len(rows) == 2
    peak, per_work = rows
    # The workers each took one work and wait on the CDN; the rest of the listing is queued.
    assert 0 < peak["details"]["cdn_requests_held"] <= peak["details"]["concurrency"]
    assert per_work["target"] == "≤ 512 B per work"
    assert per_work["figure"] > 0


def test_only_runs_the_named_scenarios(tmp_path: Path) -> None:
    done = run_benchmarks("--only", "decode", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    rows = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))["rows"]
    assert {row["scenario"] for row in rows} == {"decode"}


def test_unknown_scenario_is_refused() -> None:
    done = run_benchmarks("--only", "decode,teleport")
    assert done.returncode == 2
    assert "teleport" in done.stderr
