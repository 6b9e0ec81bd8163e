"""`DescribeTasks`: cloud-recording tasks of the last 3 days, by recording start, in ms.

Each window is read under both values of the required `Status` filter, recording (2) before
ended (3), so a task that ends while the window is paged is read last in its final state. Each
filter's list is paged by page number and rescanned when it shifted (see `pipeline.listing`).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import PagingError, PartialListing
from pipeline.listing import ListPage, page_count, scan_until_stable
from pipeline.model import Kind, Normalized, Rejection, Status, Task
from pipeline.planning.windows import Window, WindowRules
from pipeline.redaction import Redaction
from pipeline.source import Caller, Record
from pipeline.validation import MAX_UNIX_SECONDS, validate

# ZEGO answers for the last 3 days only (on its clock), in windows of at most 3 days, and
# filters on recording start, so windows need no overlap beyond a millisecond for the bounds.
# A recording is documented to last at most 48 h (24 h before 2026-01-08; more on request), and
# nothing says when an ended task shows as ended. A sync reads the last 24 h, where nearly every
# recording lies; older start times settle only once their tasks were seen out of 1
# (initialized), 2 (recording) and 5 (paused), each read again in a small window of its own.
RULES = WindowRules(
    max_span=timedelta(days=3) - timedelta(seconds=60),
    overlap=timedelta(milliseconds=1),
    reach_back=timedelta(days=3) - timedelta(minutes=10),
    horizon=timedelta(0),
    settle_after=timedelta(hours=24, seconds=60),
    longest_task=timedelta(hours=48),
    unfinished=frozenset({Status.SCHEDULED, Status.RUNNING, Status.STOPPED}),
)
PAGE_SIZE = 50
FILTERS = (2, 3)  # recording, then ended
SCANS = 4
# The documented fields hold no credential; callback or stream URLs a task may carry are
# scanned as every string is.
REDACT = Redaction()
LIST_KEYS = ("TaskidList", "TaskList")  # the wire name, then the older table's name
STATUSES = {
    1: Status.SCHEDULED,
    2: Status.RUNNING,
    3: Status.FINISHED,
    4: Status.FAILED,
    5: Status.STOPPED,
}


class ZegoTask(BaseModel):
    """One item of the task list; unknown fields stay in `raw`."""

    model_config = ConfigDict(extra="allow", strict=True)

    TaskId: Annotated[str, Field(min_length=1)]
    RoomId: str | None = None
    RecordBeginTimestamp: Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS * 1000)]
    Status: int


def _ms(moment: datetime) -> int:
    return math.floor(moment.timestamp() * 1000)


def _page(data: Mapping[str, Any], api: str) -> ListPage:
    total, pages = page_count(data.get("TotalCount"), None, PAGE_SIZE, api)
    items = next((data[key] for key in LIST_KEYS if key in data), None)
    if items is None and total > 0:
        # Reading the wrong key would look like an empty account: refuse, never skip.
        raise PagingError(f"{api} reported TotalCount {total} without TaskidList or TaskList")
    if not isinstance(items, list | None):
        raise PagingError(f"{api} answered a task list of type {type(items).__name__}")
    return ListPage(items or [], total, pages)


@dataclass(frozen=True)
class DescribeTasks:
    """The `DescribeTasks` source."""

    api: str = "DescribeTasks"
    default_rate: float = 10.0
    rules: WindowRules = RULES
    scans: int = SCANS
    redaction: Redaction = REDACT

    async def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        assert window.query is not None
        span = {"StartTime": _ms(window.query.start), "EndTime": _ms(window.query.end)}
        partial: PartialListing | None = None
        for status in FILTERS:

            async def read(page: int, status: int = status) -> ListPage:
                params = {**span, "Status": status, "PageOffset": page, "PageSize": PAGE_SIZE}
                return _page(await call(params), self.api)

            try:
                async for records in scan_until_stable(
                    read,
                    api=self.api,
                    id_key="TaskId",
                    scans=self.scans,
                    front_moves_on_change=False,
                ):
                    yield records
            except PartialListing as exc:
                partial = exc  # the other filter is still read
        if partial is not None:
            raise partial

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        task = validate(ZegoTask, raw)
        if isinstance(task, Rejection):
            return task
        return Task(
            task_id=task.TaskId,
            kind=Kind.RECORD,
            status=STATUSES.get(task.Status, Status.UNKNOWN),
            vendor_status=str(task.Status),
            start_time=datetime.fromtimestamp(task.RecordBeginTimestamp / 1000, UTC),
            end_time=None,
            raw=raw,
            room_id=task.RoomId,
        )
