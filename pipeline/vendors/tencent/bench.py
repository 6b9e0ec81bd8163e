"""Tencent in the benchmarks: tasks of a benchmark's size, the indexed twin holding them, and the
fewest requests a no-change sync of each API needs (`Sandbox.bench_*` and `minimum`)."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.fast_twin import IndexedTencent
from pipeline.vendors.tencent.sandbox_pull_tasks import MAX_PAGE_SIZE as RELAY_PAGE
from pipeline.vendors.tencent.sandbox_record_tasks import MAX_SPAN_SECONDS as RECORD_SPAN

RECORDS, RELAY = "DescribeRecordTask", "DescribeLivePullStreamTasks"
RECORD_PAGE = 100
"""Tasks per DescribeRecordTask page: Tencent's server decides, the twin's default is 100."""
DAY = 86_400
LONGEST_TASK = DAY  # a record task lasts 24 h at most
RECORD_HORIZON = 7 * DAY  # a task ends before its creation + 7 days
Tasks = list[dict[str, Any]]

SIZES: Mapping[str, Mapping[str, Mapping[str, int]]] = {
    # 300 requests at least: 31,500 record tasks in pages of 100, 6,400 relay tasks in pages of 20.
    "full": {
        RECORDS: {"tasks": 31_500, "days_back": 14, "days_ahead": 7},
        RELAY: {"tasks": 6_400},
    },
    # Tiny accounts, still at the documented rates: a few requests per API.
    "quick": {
        RECORDS: {"tasks": 300, "days_back": 1, "days_ahead": 1},
        RELAY: {"tasks": 60},
    },
}
CONFIGURED = {RECORDS: 8.0}
"""Backfilled again at a configured limit below the documented 20/s, the twin told of it."""


def bench_tasks(
    api: str, now: int, seed: int, tasks: int, days_back: int = 14, days_ahead: int = 7
) -> Tasks:
    """Record tasks spread evenly from `days_back` to `days_ahead` days; relay tasks around now."""
    if api == RELAY:
        return generate_pull_tasks(now, tasks, seed) if tasks else []
    per_day, rest = divmod(tasks, days_back + days_ahead)
    if rest:
        raise ValueError(f"{tasks} record tasks do not spread evenly over the days")
    return generate_record_tasks(now, days_back, days_ahead, per_day, seed) if per_day else []


def bench_twin(credentials: Mapping[Any, str], tasks: Mapping[str, Tasks]) -> IndexedTencent:
    """The indexed twin holding `tasks` (per API), every relay task listable at once."""
    relay = tasks.get(RELAY, [])
    twin = IndexedTencent(
        credentials=credentials, page_size=RECORD_PAGE, limit_task_num=max(len(relay), 200)
    )
    twin.add_record_tasks(tasks.get(RECORDS, []))
    twin.add_pull_tasks(relay)
    return twin


def _pages(tasks: int, page_size: int) -> int:
    """Requests to read `tasks` in pages of `page_size`; an empty list still takes one."""
    return max(1, math.ceil(tasks / page_size))


def minimum(
    api: str, tasks: Tasks, last_read: float, now: float, page_size: int = RECORD_PAGE
) -> tuple[int, str]:
    """The fewest requests a sync of `api` at `now` needs after a complete read at `last_read`
    of `tasks`, nothing changed since; and the reasoning."""
    if api == RELAY:
        return relay_minimum(len(tasks))
    return record_minimum(tasks, last_read, now, page_size)


def relay_minimum(tasks: int) -> tuple[int, str]:
    """DescribeLivePullStreamTasks: every page once, then page 1 again to see the list held."""
    return (
        _pages(tasks, RELAY_PAGE) + 1,
        f"{tasks:,} tasks in pages of {RELAY_PAGE}, + 1 re-read of page 1: the list is ordered "
        "by last update and paged by position, so only that re-read shows it did not move",
    )


def record_minimum(
    tasks: Iterable[Mapping[str, Any]], last_read: float, now: float, page_size: int
) -> tuple[int, str]:
    """DescribeRecordTask: the cheapest windows holding every task that may have changed.

    Tasks starting from the last read - 24 h to now + 7 days may have changed. A window is at
    most 7 days and returns only the tasks lying wholly inside it, so (for a range longer than 7
    days) two windows split at p: [low, p + 24 h] for tasks starting before p, [p, high] for the
    rest; tasks lying wholly in [p, p + 24 h] come twice. p is chosen to need the fewest pages.
    """
    low, high = math.floor(last_read - LONGEST_TASK), math.floor(now + RECORD_HORIZON)
    fresh = [t for t in tasks if t["StartTime"] >= low]
    starts = sorted(t["StartTime"] for t in fresh)
    ends = sorted(t["EndTime"] for t in fresh)
    if high - low <= RECORD_SPAN:
        return _pages(len(fresh), page_size), "one window holds the whole range"
    earliest, latest = high - RECORD_SPAN, low + RECORD_SPAN - LONGEST_TASK
    if earliest > latest:
        raise ValueError("the range needs more than two windows")
    # Both counts are steps in p, so the best p begins one of their steps.
    splits = {earliest, *(start + 1 for start in starts), *(end - LONGEST_TASK for end in ends)}

    def cost(p: int) -> int:
        first = bisect_right(ends, p + LONGEST_TASK)
        second = len(starts) - bisect_left(starts, p)
        return _pages(first, page_size) + _pages(second, page_size)

    best = min(cost(p) for p in splits if earliest <= p <= latest)
    return (
        best,
        f"{len(fresh):,} tasks start from the last read - 24 h to now + 7 d: two windows of at "
        f"most 7 d (tasks wholly inside), split where they need the fewest pages of {page_size}",
    )
