"""The benchmark runner works end to end at tiny sizes; it measures nothing here."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.extraction import ExtractionConfig
from benchmarks.loader import LoaderConfig
from benchmarks.report import render, write_json
from benchmarks.suite import Options, run_suite

TINY_LOADER = LoaderConfig(rows=500, window_rows=200, page_rows=50, change_every=10)
# Far above the documented rate: the runner's paths, not the pacing, are under test.
TINY_EXTRACTION = ExtractionConfig(days_back=1, days_ahead=1, per_day=40, page_size=10, rate=2000)


async def test_the_runner_reports_sane_numbers_and_writes_parseable_json(
    pg_server: str, tmp_path: Path
) -> None:
    result = await run_suite(Options(pg_server, TINY_LOADER, TINY_EXTRACTION))
    [path] = write_json(result, [tmp_path / "results" / "tiny.json"])
    data = json.loads(path.read_text("utf-8"))

    loader = {m["name"]: m for m in data["loader"]["measurements"]}
    assert all(m["rows"] == 500 and m["rows_per_second"] > 0 for m in loader.values())
    assert loader["loader_initial"]["inserted"] == 500
    same = loader["loader_reload_same"]
    assert (same["inserted"], same["changed"], same["history_rows"]) == (0, 0, 0)
    changed = loader["loader_reload_changed"]
    assert changed["changed"] == changed["history_rows"] == data["loader"]["changed_rows"] == 50
    assert all(ratio > 0 for ratio in data["loader"]["ratios"].values())

    extraction = data["extraction"]
    sandbox = extraction["sandbox"]
    assert extraction["outcome"] == "succeeded"
    assert sandbox["requests"] > sandbox["tasks"] / 10 > 0
    assert extraction["records"] >= sandbox["tasks"]
    assert extraction["rate_limited"] == 0
    assert extraction["requests_per_second"] > 0
    assert extraction["cpu_seconds_per_1000_records"] > 0
    assert data["machine"]["nproc"] >= 1
    assert "Loader, reload, nothing changed" in render(data)
