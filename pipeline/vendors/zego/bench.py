"""ZEGO in the benchmarks: recordings of a benchmark's size, the indexed twin holding them, and
the fewest requests a no-change sync needs (`Sandbox.bench_*` and `minimum`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.vendors.zego.fakedata import generate_zego_tasks, overlong_zego_tasks
from pipeline.vendors.zego.fast_twin import IndexedZego
from pipeline.vendors.zego.sandbox_tasks import DEFAULT_PAGE_SIZE as PAGE
from pipeline.vendors.zego.sandbox_tasks import FILTERS

API = "DescribeTasks"
DAYS_BACK = 2.9
"""Inside the 3 days ZEGO serves (less the 10 minutes the planner keeps as a margin)."""
OVERLONG_AGE = 30  # hours since an overlong recording began
OVERLONG_SEED = 7_919
LONGEST_TASK = 86_400  # MaxRecordTime is 24 h
Tasks = list[dict[str, Any]]

SIZES: Mapping[str, Mapping[str, Mapping[str, int]]] = {
    # 300 requests at least: 16,000 recordings of the last 3 days in pages of 50. `overlong`:
    # recordings past the 24 h a sync reads back: the extra pages they cost are shown.
    "full": {API: {"tasks": 16_000, "overlong": 3}},
    "quick": {API: {"tasks": 200, "overlong": 3}},
}


def bench_tasks(api: str, now: int, seed: int, tasks: int, overlong: int = 0) -> Tasks:
    """Recordings begun in the last 2.9 days, and `overlong` ones begun 30 h ago, still
    recording: longer than the 24 h a sync reads back, so each is read again in a small window
    of its own until it is seen ended."""
    if not tasks:
        return []
    # Seeded apart: one seed would draw the same first task id for both, and the twin would
    # hold one task fewer than the dataset counts.
    long = overlong_zego_tasks(
        now, overlong, seed + OVERLONG_SEED, hours=(40, 46), began_hours_ago=OVERLONG_AGE
    )
    return generate_zego_tasks(now, tasks, seed, DAYS_BACK) + long


def bench_twin(credentials: Mapping[Any, str], tasks: Mapping[str, Tasks]) -> IndexedZego:
    """The indexed twin holding `tasks` (per API)."""
    twin = IndexedZego(credentials=credentials)
    twin.add_tasks(tasks.get(API, []))
    return twin


def minimum(
    api: str, tasks: Iterable[Mapping[str, Any]], last_read: float, now: float
) -> tuple[int, str]:
    """DescribeTasks: one window from the last read - 24 h to now, under both status filters,
    and a page under each filter for every older recording last read unfinished."""
    low, high = math.floor((last_read - LONGEST_TASK) * 1000), math.floor(now * 1000)
    counts = {status: 0 for status in FILTERS}
    older_unfinished = set()
    for task in tasks:
        begin = task["RecordBeginTimestamp"]
        if low <= begin <= high:
            for status, members in FILTERS.items():
                counts[status] += task["Status"] in members
        elif begin < low and task["Status"] in FILTERS[2]:
            older_unfinished.add(begin)
    window = sum(max(1, math.ceil(n / PAGE)) for n in counts.values())
    shown = " + ".join(f"{n:,}" for n in counts.values())
    why = f"one window (begun since the last read - 24 h), filters 2 and 3 ({shown} tasks) "
    why += f"each in pages of {PAGE}"
    if older_unfinished:
        why += f"; + 2 for each of {len(older_unfinished)} older recordings still unfinished"
    return window + 2 * len(older_unfinished), why
