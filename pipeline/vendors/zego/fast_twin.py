"""The ZEGO twin with its lists indexed, so a page costs the twin about one page of work.

The twin answers a request by sorting and filtering every task it holds: right for tests, but a
DescribeTasks page over tens of thousands of recordings costs it a sort of them all, so a benchmark
would measure the twin instead of the pipeline. This subclass keeps each status filter's tasks
cached newest first and cuts each page from them, after the twin's own code checked the request.
The answers equal the twin's (tests/test_benchmarks_smoke.py compares them); signatures, rate
limits, window rules and refusals stay the twin's own code. Filtered requests, which the pipeline
never sends, go to the twin unchanged. `Sandbox.fast_twin` in sandbox_kit.py names it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.vendors.zego.sandbox import ZegoSandbox
from pipeline.vendors.zego.sandbox_tasks import FILTERS, describe_tasks

Task = dict[str, Any]


class IndexedZego(ZegoSandbox):
    """Each status filter's tasks kept newest first, bisected by recording start."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._lists: dict[int, tuple[list[Task], list[int]]] = {}

    def add_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        super().add_tasks(tasks)
        self._lists = {}

    def set_status(self, task_id: str, status: int) -> None:
        super().set_status(task_id, status)
        self._lists = {}

    def _describe_tasks(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("RoomId"):
            return super()._describe_tasks(params)
        now_ms = int(self.clock() * 1000)
        options = {"list_key": self.list_key, "page_size_max": self.page_size_max}
        checked = describe_tasks(params, (), now_ms=now_ms, **options)
        ordered, keys = self._filter_list(params["Status"])
        # Newest first, so the window [StartTime, EndTime] is a run of the negated starts.
        low, high = bisect_left(keys, -params["EndTime"]), bisect_right(keys, -params["StartTime"])
        size = checked["PageSize"]
        first = low + (checked["PageOffset"] - 1) * size
        cut = ordered[first : min(first + size, high)]
        page = describe_tasks({**params, "PageOffset": 1}, cut, now_ms=now_ms, **options)
        return {**page, "PageOffset": checked["PageOffset"], "TotalCount": high - low}

    def _filter_list(self, status: int) -> tuple[list[Task], list[int]]:
        if status not in self._lists:
            wanted = FILTERS[status]
            # The twin's order: newest RecordBeginTimestamp first, ties by TaskId.
            ordered = sorted(
                (t for t in self.tasks.values() if t["Status"] in wanted),
                key=lambda t: (-t["RecordBeginTimestamp"], t["TaskId"]),
            )
            self._lists[status] = ordered, [-t["RecordBeginTimestamp"] for t in ordered]
        return self._lists[status]
