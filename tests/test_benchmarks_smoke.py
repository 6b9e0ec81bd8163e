"""The benchmark runner works end to end at tiny sizes; it measures nothing here.

Also: the indexed twins the benchmark serves answer exactly as the twins do, and the minimum a
no-change sync is compared with is computed right.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import options_from, parse_args
from benchmarks.datasets import Dataset
from benchmarks.extraction import ExtractionConfig
from benchmarks.loader_data import LoaderConfig
from benchmarks.memory import MemoryConfig
from benchmarks.minimums import minimum_of
from benchmarks.report import render, write_json
from benchmarks.suite import Options, run_suite
from pipeline.sandbox.log import Refusal
from pipeline.vendors.tencent.fast_twin import IndexedTencent
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.fast_twin import IndexedVolcengine
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.zego.bench import bench_tasks as zego_bench_tasks
from pipeline.vendors.zego.fast_twin import IndexedZego
from pipeline.vendors.zego.sandbox import ZegoSandbox

TINY_LOADER = LoaderConfig(rows=500, window_rows=200, page_rows=50, change_every=10)
# A few requests per API at the documented rates; the paths, not the pacing, are under test.
TINY_EXTRACTION = ExtractionConfig(
    sizes={
        # At most one page of 100: a sync's two windows then need one page each whatever the
        # time of day. With more, where the planner splits (blind to the tasks) may put over a
        # page in one window where the minimum's split, chosen knowing them, does not.
        "DescribeRecordTask": {"tasks": 100, "days_back": 1, "days_ahead": 1},
        "DescribeLivePullStreamTasks": {"tasks": 30},
        "ListPullRecordTask": {"tasks": 600},
        "DescribeTasks": {"tasks": 60, "overlong": 3},
    }
)
TINY_MEMORY = MemoryConfig(sizes=(200, 800))
DAY = 86_400
RECORDS = "DescribeRecordTask"


async def test_the_runner_reports_sane_numbers_and_writes_parseable_json(
    pg_server: str, tmp_path: Path
) -> None:
    options = Options(pg_server, (TINY_LOADER,), TINY_EXTRACTION, TINY_MEMORY)
    result = await run_suite(options)
    [path] = write_json(result, [tmp_path / "results" / "tiny.json"])
    data = json.loads(path.read_text("utf-8"))

    [loader_result] = data["loader"]
    loader = {m["name"]: m for m in loader_result["measurements"]}
    assert all(m["rows"] == 500 and m["rows_per_second"] > 0 for m in loader.values())
    assert loader["loader_initial"]["inserted"] == 500
    assert loader["loader_initial"]["phases"]["stage"] > 0
    same = loader["loader_reload_same"]
    assert (same["inserted"], same["changed"], same["history_rows"]) == (0, 0, 0)
    changed = loader["loader_reload_changed"]
    assert changed["changed"] == changed["history_rows"] == loader_result["changed_rows"] == 50
    assert all(ratio > 0 for ratio in loader_result["ratios"].values())

    extraction = data["extraction"]
    assert_extraction_is_sane(extraction, TINY_EXTRACTION)
    [configured] = extraction["configured"]
    assert (configured["target_rate"], configured["outcome"]) == (8, "succeeded")

    memory = data["memory"]
    assert [run["records"] for run in memory["runs"]] == [run["tasks"] for run in memory["runs"]]
    assert all(run["process"]["peak_rss_bytes"] > 10 * 2**20 for run in memory["runs"])
    assert memory["floor"]["peak_rss_bytes"] > 0 and memory["ratios"]["peak"] > 0

    shown = render(data)
    for heading in ("Rate efficiency", "Pipeline ceiling", "Incremental cost", "Memory"):
        assert heading in shown
    assert "Loader, reload, nothing changed" in shown


def assert_extraction_is_sane(extraction: dict[str, Any], config: ExtractionConfig) -> None:
    """Every API of `config` read whole at the documented rates, never over them, and synced
    again with no more requests than its rules need."""
    for run in extraction["rate"] + extraction["ceiling"]:
        assert (run["outcome"], run["rate_limited"]) == ("succeeded", 0), run["api"]
        assert run["records"] >= extraction["tasks"][run["api"]] > 0
        assert run["requests"] > 0 and run["cpu_seconds_per_1000_records"] > 0
    assert [r["api"] for r in extraction["rate"]] == list(config.apis)
    assert [r["api"] for r in extraction["ceiling"]] == list(config.apis)
    for run in extraction["rate"] + extraction["configured"]:
        assert run["rate_limited"] == 0, run["api"]
        assert 0 < run["peak_per_second"] <= run["target_rate"], run["api"]
    assert [item["api"] for item in extraction["incremental"]] == list(config.apis)
    for item in extraction["incremental"]:
        # Tiny accounts: every window and list fits the fewest pages the rules allow.
        assert item["requests"] == item["minimum"]["requests"] > 0, item["api"]


def test_each_part_is_chosen_by_its_flag_and_sizes_repeat() -> None:
    options = options_from(parse_args(["--quick", "--rows", "300", "700", "--memory"]))
    assert options.extraction is None
    assert [c.rows for c in options.loader] == []
    assert options.memory is not None

    options = options_from(parse_args(["--loader", "--rows", "300", "700"]))
    assert [c.rows for c in options.loader] == [300, 700]
    assert options.extraction is None and options.memory is None

    options = options_from(parse_args(["--ceiling", "--api", "DescribeTasks"]))
    assert options.extraction is not None and options.extraction.apis == ("DescribeTasks",)
    assert (options.extraction.rate, options.extraction.ceiling) == (False, True)


# --- the indexed twins answer as the twins do ---------------------------------------------


def _answer(handler: Callable[[dict[str, Any]], Any], params: dict[str, Any]) -> Any:
    try:
        return handler(params)
    except Refusal as refusal:
        return ("refused", refusal.code, refusal.message)


def _same(plain: Any, indexed: Any, handler: str, params: dict[str, Any]) -> Any:
    expected = _answer(getattr(plain, handler), params)
    assert _answer(getattr(indexed, handler), params) == expected, params
    return expected


@pytest.fixture
def data() -> Dataset:
    sizes = {
        "DescribeRecordTask": {"tasks": 400, "days_back": 3, "days_ahead": 7},
        "DescribeLivePullStreamTasks": {"tasks": 45},
        "ListPullRecordTask": {"tasks": 60},
        "DescribeTasks": {"tasks": 130},
    }
    return Dataset(now=int(time.time()), sizes=sizes)


def test_indexed_tencent_answers_as_the_twin(data: Dataset) -> None:
    plain = TencentSandbox(credentials={}, page_size=7)
    indexed = IndexedTencent(credentials={}, page_size=7)
    for twin in (plain, indexed):
        twin.add_record_tasks(data.tasks("DescribeRecordTask"))
        twin.add_pull_tasks(data.tasks("DescribeLivePullStreamTasks"))
    now, pages = data.now, 0
    for start, end in [(now - 3 * DAY, now + 4 * DAY), (now - DAY, now - 3600), (now, now + DAY)]:
        token = ""
        while pages < 200:
            params = {"StartTime": start, "EndTime": end}
            params |= {"ScrollToken": token} if token else {}
            token = _same(plain, indexed, "_describe_record_task", params)["ScrollToken"]
            pages += 1
            if not token:
                break
    assert pages > 10
    for params in (
        {"StartTime": now, "EndTime": now + DAY, "AppName": "live"},
        {"StartTime": now, "EndTime": now + DAY, "ScrollToken": "not-a-token"},
        {"StartTime": now, "EndTime": now + 9 * DAY},
        {"StartTime": "soon", "EndTime": now + DAY},
    ):
        _same(plain, indexed, "_describe_record_task", params)
    for page in range(1, 5):
        _same(plain, indexed, "_describe_pull_tasks", {"PageNum": page, "PageSize": 20})
    for params in ({"PageSize": 21}, {}, {"TaskId": next(iter(plain.pull_tasks))}):
        _same(plain, indexed, "_describe_pull_tasks", params)


def test_indexed_volcengine_and_zego_answer_as_the_twins(data: Dataset) -> None:
    plain, indexed = VolcengineSandbox(credentials={}), IndexedVolcengine(credentials={})
    for twin in (plain, indexed):
        twin.add_tasks(data.tasks("ListPullRecordTask"))
    for page in range(1, 5):
        _same(plain, indexed, "_list", {"PageNum": page, "PageSize": 25})
    for extra in ({"PageSize": 501}, {"App": "live"}, {"Vhost": ""}):
        _same(plain, indexed, "_list", {"PageNum": 1, "PageSize": 25} | extra)

    zego, indexed_zego = ZegoSandbox(credentials={}), IndexedZego(credentials={})
    for twin in (zego, indexed_zego):
        twin.add_tasks(data.tasks("DescribeTasks"))
    ms = data.now * 1000
    for status in (2, 3, 4):
        for page in range(4):
            for start, end in [(ms - 2 * DAY * 1000, ms), (ms - DAY * 1000 + 123, ms - 3600_000)]:
                params = {"Status": status, "PageOffset": page, "PageSize": 20}
                params |= {"StartTime": start, "EndTime": end}
                _same(zego, indexed_zego, "_describe_tasks", params)


# --- the minimum a no-change sync is compared with ----------------------------------------


def _task(start: int, length: int) -> dict[str, int]:
    return {"StartTime": start, "EndTime": start + length}


def test_record_minimum_splits_where_the_fewest_pages_are_needed() -> None:
    now = 1_000_000_000
    # 8 tasks in the last day, 8 three days ahead; pages of 4. Split at now: [now - 1 d,
    # now + 1 d] holds the first 8, [now, now + 7 d] the others: 2 + 2 pages. Split at
    # now + 5 d, the first window would hold all 16 (4 pages) and the second none (1).
    tasks = [_task(now - DAY + i * 3600, 600) for i in range(8)]
    tasks += [_task(now + 3 * DAY + i * 60, 600) for i in range(8)]
    assert minimum_of(RECORDS, tasks, now, now, page_size=4).requests == 4
    # Nothing there: still two windows, one request each.
    assert minimum_of(RECORDS, [], now, now, page_size=100).requests == 2
    # Settled tasks (begun before the last read - 24 h) are not read again.
    old = [_task(now - 3 * DAY, 600) for _ in range(50)]
    assert minimum_of(RECORDS, old, now, now, page_size=4).requests == 2


def test_list_minimums() -> None:
    assert minimum_of("DescribeLivePullStreamTasks", [{}] * 41, 0, 0).requests == 3 + 1
    tasks = [
        {"RecordBeginTimestamp": 1000 * (100 * DAY - i * 60), "Status": 3 if i % 3 else 2}
        for i in range(200)
    ]
    # 200 recordings a minute apart, all within the day: 67 recording + 133 ended.
    assert minimum_of("DescribeTasks", tasks, last_read=100 * DAY, now=100 * DAY).requests == 2 + 3


def test_every_zego_benchmark_task_is_its_own() -> None:
    # The overlong recordings once took the first id of the others: one task fewer than counted.
    tasks = zego_bench_tasks("DescribeTasks", 1_800_000_000, seed=5, tasks=200, overlong=3)
    assert len({task["TaskId"] for task in tasks}) == len(tasks) == 203
