"""The synthetic tasks a benchmark's twins hold, described as data and generated on demand.

The sandbox child generates the tasks from a `Dataset`; the parent can generate the very same
ones again (every generator is seeded and takes `now`), for instance to count the requests a
sync needs at the least, without asking the child.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.zego.fakedata import generate_zego_tasks, overlong_zego_tasks

# The Volcengine generator keeps one task at a time per stream, a check that grows with the
# tasks already drawn (150,000 at once take two minutes); independent batches take seconds.
VOLCENGINE_BATCH = 5_000
Tasks = list[dict[str, Any]]
OVERLONG_AGE = 30  # hours since an overlong ZEGO recording began


@dataclass(frozen=True, slots=True)
class Dataset:
    """Tasks per vendor API, generated around `now` (Unix seconds); 0 leaves an API empty."""

    now: int
    record_per_day: int = 0
    record_days_back: int = 14
    record_days_ahead: int = 7
    record_page_size: int = 100
    """Tasks per DescribeRecordTask page: Tencent's server decides, the twin's default is 100."""
    relay: int = 0
    volcengine: int = 0
    zego: int = 0
    zego_days_back: float = 2.9
    """Inside the 3 days ZEGO serves (less the 10 minutes the planner keeps as a margin)."""
    zego_overlong: int = 0
    """ZEGO recordings begun 30 h ago and still recording: longer than the 24 h a sync reads
    back, so each is read again in a small window of its own until it is seen ended."""
    seed: int = 5

    def record_tasks(self) -> Tasks:
        """DescribeRecordTask: `record_per_day` tasks a day, from days back to days ahead."""
        if not self.record_per_day:
            return []
        return generate_record_tasks(
            self.now, self.record_days_back, self.record_days_ahead, self.record_per_day, self.seed
        )

    def relay_tasks(self) -> Tasks:
        """DescribeLivePullStreamTasks: relay tasks around `now`."""
        return generate_pull_tasks(self.now, self.relay, self.seed) if self.relay else []

    def volcengine_tasks(self) -> Tasks:
        """ListPullRecordTask: pull-record tasks, drawn in independent seeded batches."""
        tasks: Tasks = []
        for batch, first in enumerate(range(0, self.volcengine, VOLCENGINE_BATCH)):
            size = min(VOLCENGINE_BATCH, self.volcengine - first)
            tasks += generate_pull_record_tasks(self.now, size, self.seed * 1_000 + batch)
        return tasks

    def zego_tasks(self) -> Tasks:
        """DescribeTasks: recordings begun in the last `zego_days_back` days."""
        if not self.zego:
            return []
        overlong = overlong_zego_tasks(
            self.now, self.zego_overlong, self.seed, hours=(40, 46), began_hours_ago=OVERLONG_AGE
        )
        return generate_zego_tasks(self.now, self.zego, self.seed, self.zego_days_back) + overlong

    @property
    def record_tasks_count(self) -> int:
        return self.record_per_day * (self.record_days_back + self.record_days_ahead)
