"""The status benchmark works end to end at a tiny size; it measures nothing here."""

from __future__ import annotations

from benchmarks.__main__ import options_from, parse_args
from benchmarks.report import render
from benchmarks.status_history import StatusConfig
from benchmarks.suite import QUICK_STATUS, Options, run_suite

TINY = StatusConfig(sources=(4, 12), rounds=(3, 9))


async def test_the_status_benchmark_times_every_case_over_its_whole_history(
    pg_server: str,
) -> None:
    result = await run_suite(Options(pg_server, (), None, None, status=TINY))
    cases = result["status"]["cases"]
    assert [(c["sources"], c["rounds"]) for c in cases] == [(4, 3), (4, 9), (12, 3), (12, 9)]
    for case in cases:
        assert case["listed"] == case["sources"]  # status saw every seeded source
        # A run row and two windows per source per round (no round fails at these sizes).
        assert case["history_rows"] == case["sources"] * case["rounds"] * 3
        assert case["seconds"] > 0
    table = render(result)
    assert "Status: `pipeline status`'s whole read" in table
    assert "at 12 sources, 3x the history takes" in table


def test_status_runs_only_when_named_and_quick_shrinks_it() -> None:
    assert options_from(parse_args([])).status is None
    assert options_from(parse_args(["--status", "--quick"])).status == QUICK_STATUS
    named = options_from(parse_args(["--status"]))
    assert named.status == StatusConfig()
    assert named.loader == () and named.extraction is None  # only the part named
