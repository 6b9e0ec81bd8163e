"""The scale benchmark works end to end at a tiny size; it measures nothing here.

Eight accounts (two per API) on twins of their own, backfilled by one worker and by two sharded
workers at the documented limits and with the limits raised: what a user reads in the report
must hold whatever the timings.
"""

from __future__ import annotations

from typing import Any

from benchmarks.__main__ import options_from, parse_args
from benchmarks.report import render
from benchmarks.scale import ScaleConfig
from benchmarks.suite import Options, run_suite

TINY = ScaleConfig(
    accounts_per_api=2,
    workers=(1, 2),
    sizes={
        "DescribeRecordTask": {"tasks": 60, "days_back": 1, "days_ahead": 1},
        "DescribeLivePullStreamTasks": {"tasks": 30},
        "ListPullRecordTask": {"tasks": 300},
        "DescribeTasks": {"tasks": 60, "overlong": 3},
    },
    growth=1.0,
    round_timeout=120.0,
)


def assert_round_is_whole(round_: dict[str, Any], sources: set[str], tasks: int | None) -> None:
    """Every source run once, successfully, by exactly one worker; the figures positive."""
    assert round_["problems"] == []
    shares = [set(worker["sources"]) for worker in round_["workers"]]
    assert sum(len(share) for share in shares) == len(sources)  # no source in two workers
    assert set().union(*shares) == sources
    if tasks is not None:
        assert round_["stored"] == tasks
        assert round_["records"] >= tasks  # overlapping windows read a task twice
    assert round_["wall_seconds"] > 0 and round_["records_per_second"] > 0
    assert all(w["process"]["cpu_seconds"] > 0 for w in round_["workers"])
    assert all(w["process"]["peak_rss_bytes"] > 0 for w in round_["workers"])
    assert round_["slowest_minimum_seconds"] > 0 and round_["twin_cpu_seconds"] >= 0


async def test_the_scale_benchmark_runs_every_source_once_per_round(pg_server: str) -> None:
    result = await run_suite(Options(pg_server, (), None, None, scale=TINY))
    scale = result["scale"]
    sources, tasks = set(scale["tasks"]), sum(scale["tasks"].values())
    assert scale["accounts"] == len(sources) == 8
    assert tasks > 0

    for key in ("documented", "raised"):
        assert [len(r["workers"]) for r in scale[key]] == [1, 2]
        for round_ in scale[key]:
            assert_round_is_whole(round_, sources, tasks)
    assert_round_is_whole(scale["sync"], sources, None)

    projection = scale["projection"]
    assert projection["accounts_per_worker"] > 0 and projection["cpu_per_1000_records"] > 0
    assert [row["accounts"] for row in projection["rows"]] == [100, 1_000, 10_000, 50_000]
    assert all(row["workers"] >= row["workers_connections"] >= 1 for row in projection["rows"])

    shown = render(result)
    assert "Scale: 8 accounts" in shown and "Projection" in shown
    assert "checks ok: every source run once" in shown and "problem" not in shown


def test_scale_runs_only_when_named() -> None:
    assert options_from(parse_args([])).scale is None
    assert options_from(parse_args(["--quick"])).scale is None
    options = options_from(parse_args(["--scale", "--workers", "1", "3"]))
    assert options.scale is not None and options.scale.workers == (1, 3)
    assert options.extraction is None and options.memory is None and options.loader == ()
