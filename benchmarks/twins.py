"""The vendor twins with their lists indexed, so a page costs the twin about one page of work.

Each twin answers a request by sorting and filtering every task it holds: right for tests, but
one Volcengine page over 150,000 tasks costs it 0.3 s of CPU, and a DescribeRecordTask page over
1,000,000 tasks more still, so a benchmark would measure the twin instead of the pipeline. These
subclasses keep each list's order cached and hand the twin's own handler only the tasks a request
can reach, or let the handler check the request and then cut the page from the cached order. The
answers equal the twin's (tests/test_benchmarks_smoke.py compares them); signatures, rate limits,
window rules and refusals stay the twin's own code. Filtered requests, which the pipeline never
sends, go to the twin unchanged.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from benchmarks.datasets import Dataset
from pipeline.vendors.tencent import sandbox_record_tasks as record_rules
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.tencent.sandbox_pull_tasks import describe_live_pull_stream_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.volcengine.sandbox_tasks import FILTERS, list_pull_record_task
from pipeline.vendors.zego.sandbox import ZegoSandbox
from pipeline.vendors.zego.sandbox_tasks import FILTERS as ZEGO_FILTERS
from pipeline.vendors.zego.sandbox_tasks import describe_tasks

Task = dict[str, Any]
Twin = TencentSandbox | VolcengineSandbox | ZegoSandbox


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


class IndexedVolcengine(VolcengineSandbox):
    """The list kept in its order between changes."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._ordered: list[Task] | None = None

    def add_tasks(self, tasks: Iterable[Mapping[str, Any]]) -> None:
        super().add_tasks(tasks)
        self._ordered = None

    def update_task(self, task_id: str, **fields: Any) -> None:
        super().update_task(task_id, **fields)
        self._ordered = None

    def delete_task(self, task_id: str) -> None:
        super().delete_task(task_id)
        self._ordered = None

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        if any(params.get(name) for name in FILTERS):
            return super()._list(params)
        options = {"max_page_size": self.max_page_size, "omit": self.list_omits}
        pagination = list_pull_record_task(params, (), **options)["Pagination"]
        if self._ordered is None:
            self._ordered = self.ordered_tasks()
        size = pagination["PageSize"]
        offset = (pagination["PageCur"] - 1) * size
        cut = self._ordered[offset : offset + size]
        page = list_pull_record_task({"PageNum": 1, "PageSize": size}, cut, **options)
        total = len(self._ordered)
        counts = {"PageTotal": math.ceil(total / size), "TotalCount": total}
        return {"List": page["List"], "Pagination": {**pagination, **counts}}


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
            wanted = ZEGO_FILTERS[status]
            # The twin's order: newest RecordBeginTimestamp first, ties by TaskId.
            ordered = sorted(
                (t for t in self.tasks.values() if t["Status"] in wanted),
                key=lambda t: (-t["RecordBeginTimestamp"], t["TaskId"]),
            )
            self._lists[status] = ordered, [-t["RecordBeginTimestamp"] for t in ordered]
        return self._lists[status]


def build_twins(
    data: Dataset, credentials: Mapping[str, Any], rates: Mapping[str, float] | None = None
) -> dict[str, Twin]:
    """The twins of the vendors that have tasks in `data`, keyed by vendor name.

    `credentials` holds each vendor's twin credentials; `rates` raises (or lowers) the documented
    rate of the actions it names.
    """
    twins: dict[str, Twin] = {}
    if data.record_per_day or data.relay:
        tencent = IndexedTencent(
            credentials=credentials["tencent"],
            page_size=data.record_page_size,
            limit_task_num=max(data.relay, 200),
        )
        tencent.add_record_tasks(data.record_tasks())
        tencent.add_pull_tasks(data.relay_tasks())
        twins["tencent"] = tencent
    if data.volcengine:
        volcengine = IndexedVolcengine(credentials=credentials["volcengine"])
        volcengine.add_tasks(data.volcengine_tasks())
        twins["volcengine"] = volcengine
    if data.zego:
        zego = IndexedZego(credentials=credentials["zego"])
        zego.add_tasks(data.zego_tasks())
        twins["zego"] = zego
    for twin in twins.values():
        for action, rate in (rates or {}).items():
            if action in twin.actions:
                twin.limiter.set_rate(action, rate)
    return twins
