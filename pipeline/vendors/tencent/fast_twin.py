"""The Tencent twin with its lists indexed, so a page costs the twin about one page of work.

The twin answers a request by sorting and filtering every task it holds: right for tests, but a
DescribeRecordTask page over 1,000,000 tasks costs it seconds of CPU, so a benchmark would measure
the twin instead of the pipeline. This subclass keeps each list's order cached and hands the twin's
own handler only the tasks a request can reach, or lets the handler check the request and then cuts
the page from the cached order. The answers equal the twin's (tests/test_benchmarks_smoke.py
compares them); signatures, rate limits, window rules and refusals stay the twin's own code.
Filtered requests, which the pipeline never sends, go to the twin unchanged. `Sandbox.fast_twin` in
sandbox_kit.py names it.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pipeline.vendors.tencent import sandbox_record_tasks as record_rules
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.tencent.sandbox_pull_tasks import describe_live_pull_stream_tasks

Task = dict[str, Any]


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class IndexedTencent(TencentSandbox):
    """Record tasks bisected by start time; the relay list kept in its newest-first order."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._records: list[Task] = []
        self._record_keys: list[tuple[int, str]] = []
        self._resume: dict[str, int] = {}  # a ScrollToken issued -> index of its next task
        self._relay: list[Task] | None = None

    def add_record_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        super().add_record_tasks(tasks)
        self._index_records()

    def delete_record_task(self, task_id: str) -> None:
        super().delete_record_task(task_id)
        self._index_records()

    def add_pull_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        super().add_pull_tasks(tasks)
        self._relay = None

    def update_pull_task(self, task_id: str, **fields: Any) -> None:
        super().update_pull_task(task_id, **fields)
        self._relay = None

    def delete_pull_task(self, task_id: str) -> None:
        super().delete_pull_task(task_id)
        self._relay = None

    def _index_records(self) -> None:
        # The twin's order: by StartTime, then TaskId.
        self._records = sorted(self.record_tasks.values(), key=_position)
        self._record_keys = [_position(task) for task in self._records]
        self._resume = {}

    def _describe_record_task(self, params: dict[str, Any]) -> dict[str, Any]:
        first = self._first_index(params)
        end = params.get("EndTime")
        filtered = any(params.get(name) for name in record_rules.FILTERS)
        if first is None or not _integer(end) or filtered:
            return super()._describe_record_task(params)
        candidates = self._records[first : self._reach(first, end)]
        page = record_rules.describe_record_task(
            params, candidates, now=int(self.clock()), page_size=self.page_size
        )
        if page["ScrollToken"]:
            last = page["TaskList"][-1]
            after = bisect_right(self._record_keys, (last["StartTime"], last["TaskId"]))
            self._resume[page["ScrollToken"]] = after
        return page

    def _first_index(self, params: Mapping[str, Any]) -> int | None:
        """Where the page's candidates begin; None when only the twin itself can tell."""
        token, start = params.get("ScrollToken"), params.get("StartTime")
        if token:
            return self._resume.get(token) if isinstance(token, str) else None
        return bisect_left(self._record_keys, (start, "")) if _integer(start) else None

    def _reach(self, first: int, end: int) -> int:
        """Just past the candidates: one task more than a page lying wholly inside the window."""
        inside, index = 0, first
        while index < len(self._records) and inside <= self.page_size:
            task = self._records[index]
            if task["StartTime"] > end:
                break
            inside += task["EndTime"] <= end
            index += 1
        return index

    def _describe_pull_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        if any(params.get(name) for name in ("TaskId", "SpecifyTaskId")):
            return super()._describe_pull_tasks(params)
        checked = describe_live_pull_stream_tasks(params, (), limit_task_num=self.limit_task_num)
        if self._relay is None:
            # The twin's order: newest UpdateTime first, ties by TaskId.
            self._relay = sorted(self.pull_tasks.values(), key=_newest_first)
        size = checked["PageSize"]
        offset = (checked["PageNum"] - 1) * size
        cut = self._relay[offset : offset + size]
        page = describe_live_pull_stream_tasks({"PageSize": size}, cut, limit_task_num=0)
        total = len(self._relay)
        return {
            **checked,
            "TaskInfos": page["TaskInfos"],
            "TotalNum": total,
            "TotalPage": math.ceil(total / size),
        }


def _position(task: Mapping[str, Any]) -> tuple[int, str]:
    return task["StartTime"], task["TaskId"]


def _newest_first(task: Mapping[str, Any]) -> tuple[float, str]:
    return -datetime.fromisoformat(task["UpdateTime"]).timestamp(), task["TaskId"]
