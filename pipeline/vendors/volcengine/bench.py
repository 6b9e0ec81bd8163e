"""Volcengine in the benchmarks: tasks of a benchmark's size, the indexed twin holding them, and
the fewest requests a no-change sync needs (`Sandbox.bench_*` and `minimum`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.fast_twin import IndexedVolcengine
from pipeline.vendors.volcengine.sandbox_tasks import DEFAULT_MAX_PAGE_SIZE as PAGE

API = "ListPullRecordTask"
# The generator keeps one task at a time per stream, a check that grows with the tasks already
# drawn (150,000 at once take two minutes); independent batches take seconds.
BATCH = 5_000
Tasks = list[dict[str, Any]]

SIZES: Mapping[str, Mapping[str, Mapping[str, int]]] = {
    "full": {API: {"tasks": 150_000}},  # 300 requests at least, in pages of 500
    "quick": {API: {"tasks": 1_200}},
}


def bench_tasks(api: str, now: int, seed: int, tasks: int) -> Tasks:
    """Pull-record tasks, drawn in independent seeded batches."""
    drawn: Tasks = []
    for batch, first in enumerate(range(0, tasks, BATCH)):
        size = min(BATCH, tasks - first)
        drawn += generate_pull_record_tasks(now, size, seed * 1_000 + batch)
    return drawn


def bench_twin(credentials: Mapping[Any, str], tasks: Mapping[str, Tasks]) -> IndexedVolcengine:
    """The indexed twin holding `tasks` (per API)."""
    twin = IndexedVolcengine(credentials=credentials)
    twin.add_tasks(tasks.get(API, []))
    return twin


def minimum(api: str, tasks: Tasks, last_read: float, now: float) -> tuple[int, str]:
    """ListPullRecordTask: every page once (no window, no order to stop early on)."""
    count = len(tasks)
    return (
        max(1, math.ceil(count / PAGE)),
        f"{count:,} tasks in pages of {PAGE}: no window or order to stop early on",
    )
