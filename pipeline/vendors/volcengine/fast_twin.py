"""The Volcengine twin with its lists indexed, so a page costs the twin about one page of work.

The twin answers a request by sorting and filtering every task it holds: right for tests, but one
ListPullRecordTask page over 150,000 tasks costs it 0.3 s of CPU, so a benchmark would measure the
twin instead of the pipeline. This subclass keeps the list's order cached between changes and cuts
each page from it, after the twin's own code checked the request. The answers equal the twin's
(tests/test_benchmarks_smoke.py compares them); signatures, rate limits, window rules and refusals
stay the twin's own code. Filtered requests, which the pipeline never sends, go to the twin
unchanged. `Sandbox.fast_twin` in sandbox_kit.py names it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.volcengine.sandbox_tasks import FILTERS, list_pull_record_task

Task = dict[str, Any]


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
