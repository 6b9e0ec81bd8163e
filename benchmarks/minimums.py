"""The fewest requests a sync can send when nothing changed, from each vendor's rules. Pure.

What must be read again is what may have changed since the last read: every task of a
whole-account list (nothing tells which moved), and for windowed lists the tasks that had not
ended when they were last read (they last at most 24 h) plus every scheduled one. Page sizes are
the largest each API allows; Tencent's record pages are the server's choice (the twin's size).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.vendors.tencent.sandbox_pull_tasks import MAX_PAGE_SIZE as RELAY_PAGE
from pipeline.vendors.tencent.sandbox_record_tasks import MAX_SPAN_SECONDS as RECORD_SPAN
from pipeline.vendors.volcengine.sandbox_tasks import DEFAULT_MAX_PAGE_SIZE as VOLCENGINE_PAGE
from pipeline.vendors.zego.sandbox_tasks import DEFAULT_PAGE_SIZE as ZEGO_PAGE
from pipeline.vendors.zego.sandbox_tasks import FILTERS as ZEGO_FILTERS

DAY = 86_400
LONGEST_TASK = DAY  # Tencent: a record task lasts 24 h at most; ZEGO: MaxRecordTime is 24 h
RECORD_HORIZON = 7 * DAY  # Tencent: a task ends before its creation + 7 days


@dataclass(frozen=True, slots=True)
class Minimum:
    """The fewest requests, and the reasoning that gives them."""

    requests: int
    why: str


def pages(tasks: int, page_size: int) -> int:
    """Requests to read `tasks` in pages of `page_size`; an empty list still takes one."""
    return max(1, math.ceil(tasks / page_size))


def relay_minimum(tasks: int) -> Minimum:
    """DescribeLivePullStreamTasks: every page once, then page 1 again to see the list held."""
    return Minimum(
        pages(tasks, RELAY_PAGE) + 1,
        f"{tasks:,} tasks in pages of {RELAY_PAGE}, + 1 re-read of page 1: the list is ordered "
        "by last update and paged by position, so only that re-read shows it did not move",
    )


def volcengine_minimum(tasks: int) -> Minimum:
    """ListPullRecordTask: every page once (no window, no order to stop early on)."""
    return Minimum(
        pages(tasks, VOLCENGINE_PAGE),
        f"{tasks:,} tasks in pages of {VOLCENGINE_PAGE}: no window or order to stop early on",
    )


def zego_minimum(tasks: Iterable[Mapping[str, Any]], last_read: float, now: float) -> Minimum:
    """DescribeTasks: one window from the last read - 24 h to now, under both status filters,
    and a page under each filter for every older recording last read unfinished."""
    low, high = math.floor((last_read - LONGEST_TASK) * 1000), math.floor(now * 1000)
    counts = {status: 0 for status in ZEGO_FILTERS}
    older_unfinished = set()
    for task in tasks:
        begin = task["RecordBeginTimestamp"]
        if low <= begin <= high:
            for status, members in ZEGO_FILTERS.items():
                counts[status] += task["Status"] in members
        elif begin < low and task["Status"] in ZEGO_FILTERS[2]:
            older_unfinished.add(begin)
    window = sum(pages(n, ZEGO_PAGE) for n in counts.values())
    shown = " + ".join(f"{n:,}" for n in counts.values())
    why = f"one window (begun since the last read - 24 h), filters 2 and 3 ({shown} tasks) "
    why += f"each in pages of {ZEGO_PAGE}"
    if older_unfinished:
        why += f"; + 2 for each of {len(older_unfinished)} older recordings still unfinished"
    return Minimum(window + 2 * len(older_unfinished), why)


def record_minimum(
    tasks: Iterable[Mapping[str, Any]], last_read: float, now: float, page_size: int
) -> Minimum:
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
        return Minimum(pages(len(fresh), page_size), "one window holds the whole range")
    earliest, latest = high - RECORD_SPAN, low + RECORD_SPAN - LONGEST_TASK
    if earliest > latest:
        raise ValueError("the range needs more than two windows")
    # Both counts are steps in p, so the best p begins one of their steps.
    splits = {earliest, *(start + 1 for start in starts), *(end - LONGEST_TASK for end in ends)}

    def cost(p: int) -> int:
        first = bisect_right(ends, p + LONGEST_TASK)
        second = len(starts) - bisect_left(starts, p)
        return pages(first, page_size) + pages(second, page_size)

    best = min(cost(p) for p in splits if earliest <= p <= latest)
    return Minimum(
        best,
        f"{len(fresh):,} tasks start from the last read - 24 h to now + 7 d: two windows of at "
        f"most 7 d (tasks wholly inside), split where they need the fewest pages of {page_size}",
    )
