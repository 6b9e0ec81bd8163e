"""The pressure part of the benchmark runs end to end at tiny sizes, and only when named."""

from __future__ import annotations

from benchmarks.__main__ import options_from, parse_args
from benchmarks.pressure import PressureConfig, render_pressure
from benchmarks.suite import Options, run_suite

TINY = PressureConfig(per_day=10, days_back=1, stall_seconds=2.0, timeout_seconds=1.5)


def test_the_pressure_part_runs_only_when_named() -> None:
    alone = options_from(parse_args(["--pressure", "--quick"]))
    assert alone.pressure is not None
    assert (alone.extraction, alone.memory, alone.loader) == (None, None, ())
    assert options_from(parse_args(["--quick"])).pressure is None


async def test_both_scenarios_store_every_task(pg_server: str) -> None:
    result = await run_suite(Options(pg_server, (), None, None, pressure=TINY))
    runs = result["pressure"]
    assert [r["scenario"] for r in runs] == ["shared_quota", "stalls"]
    assert all(r["outcome"] == "succeeded" and r["exact"] for r in runs), runs
    assert all(r["requests"] >= r["ok"] > 0 for r in runs)
    assert runs[0]["budget"] == 14.0
    assert "shared_quota (budget 14/s)" in render_pressure(runs)
