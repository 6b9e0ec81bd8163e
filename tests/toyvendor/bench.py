"""The toy vendor in the benchmarks: tasks of a benchmark's size, its twin holding them, and the
fewest requests a no-change sync needs (`Sandbox.bench_*` and `minimum`)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

API = "ListToys"
PAGE = 25
Tasks = list[dict[str, Any]]

SIZES: Mapping[str, Mapping[str, Mapping[str, int]]] = {
    "full": {API: {"tasks": 7_500}},  # 300 pages
    "quick": {API: {"tasks": 100}},
}


def bench_tasks(api: str, now: int, seed: int, tasks: int, days_back: int = 3) -> Tasks:
    """`tasks` toy tasks begun over the last `days_back` days, seeded."""
    rng = random.Random(seed)
    return [
        {
            "id": f"toy-bench-{seed}-{n:06d}",
            "start": now - rng.randrange(days_back * 86_400),
            "state": rng.choice(["on", "off", "done"]),
        }
        for n in range(tasks)
    ]


def minimum(api: str, tasks: Tasks, last_read: float, now: float) -> tuple[int, str]:
    """ListToys: every page once (the whole account, in no order to stop early on)."""
    pages = max(1, math.ceil(len(tasks) / PAGE))
    return pages, f"{len(tasks):,} tasks in pages of {PAGE}: the whole list each time"
