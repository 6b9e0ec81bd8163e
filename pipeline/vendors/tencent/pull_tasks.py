"""`DescribeLivePullStreamTasks`: relay tasks, listed whole and paged by position.

The list is ordered by last update, newest first, and paged by position, so it shifts while it
is read: an update moves a task to the front (a reader may miss it), a deletion pulls later tasks
one place up (a reader may skip one). A scan is trusted only when the front of the list and the
total did not move while it ran; otherwise the whole account is read again.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import PagingError, PartialListing
from pipeline.model import Kind, Normalized, Rejection, Status, Task
from pipeline.source import Caller, Record
from pipeline.validation import describe
from pipeline.windows import Window

log = structlog.get_logger(__name__)

PAGE_SIZE = 20  # the largest the API allows
SCANS = 4


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("has no UTC offset")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]


class PullStreamTask(BaseModel):
    """One `PullStreamTaskInfo`; fields the pipeline does not map stay in `raw`."""

    model_config = ConfigDict(extra="allow")

    TaskId: Annotated[str, Field(min_length=1, strict=True)]
    Status: str | None = None
    StartTime: UtcTime | None = None
    EndTime: UtcTime | None = None
    UpdateTime: UtcTime | None = None
    SourceUrls: list[str] = Field(default_factory=list)
    DomainName: str | None = None
    AppName: str | None = None
    StreamName: str | None = None


def derive_status(task: PullStreamTask, observed_at: datetime) -> Status:
    """`pause` is stopped; an `enable` task follows its times (it stays `enable` after its end)."""
    if task.Status == "pause":
        return Status.STOPPED
    if task.Status != "enable":
        return Status.UNKNOWN
    if task.EndTime is not None and observed_at >= task.EndTime:
        return Status.FINISHED
    if task.StartTime is not None and observed_at < task.StartTime:
        return Status.SCHEDULED
    return Status.RUNNING


@dataclass(frozen=True, slots=True)
class _Page:
    records: list[Record]
    total: int
    pages: int

    @property
    def front(self) -> tuple[Any, Any] | None:
        first = self.records[0] if self.records else None
        return (first.get("TaskId"), first.get("UpdateTime")) if isinstance(first, dict) else None


def _page(payload: Mapping[str, Any], api: str) -> _Page:
    records = payload.get("TaskInfos") or []
    total = payload.get("TotalNum")
    if not isinstance(records, list) or not isinstance(total, int):
        raise PagingError(f"{api} answered without a TaskInfos list and a TotalNum")
    pages = payload.get("TotalPage")
    if not isinstance(pages, int):
        pages = math.ceil(total / PAGE_SIZE)
    if total > 0 and not records and payload.get("PageNum", 1) == 1:
        raise PagingError(f"{api} reported TotalNum {total} but its first page is empty")
    return _Page(records, total, pages)


def _ids(records: list[Record]) -> set[Any]:
    return {r.get("TaskId") for r in records if isinstance(r, dict)}


@dataclass(frozen=True)
class PullStreamTasks:
    """The `DescribeLivePullStreamTasks` source: the whole account on every run."""

    api: str = "DescribeLivePullStreamTasks"
    default_rate: float = 30.0
    rules: None = None
    scans: int = SCANS

    async def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        for scan in range(1, self.scans + 1):
            first = _page(await call({"PageNum": 1, "PageSize": PAGE_SIZE}), self.api)
            yield first.records
            rest = await asyncio.gather(
                *(call({"PageNum": n, "PageSize": PAGE_SIZE}) for n in range(2, first.pages + 1))
            )
            pages = [_page(p, self.api) for p in rest]
            seen = _ids(first.records)
            for page in pages:
                seen |= _ids(page.records)
                yield page.records
            # Any update or creation moves a task to the front; any deletion changes the total.
            check = _page(await call({"PageNum": 1, "PageSize": PAGE_SIZE}), self.api)
            yield check.records
            totals = {first.total, check.total, *(p.total for p in pages)}
            if totals == {first.total} and check.front == first.front and len(seen) == first.total:
                return
            log.info("listing.shifted", scan=scan, totals=sorted(totals), tasks_seen=len(seen))
        raise PartialListing(f"{self.api}: the task list kept changing during {self.scans} scans")

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        try:
            task = PullStreamTask.model_validate(raw)
        except ValidationError as exc:
            task_id = raw.get("TaskId") if isinstance(raw, dict) else None
            return Rejection(describe(exc), raw, task_id if isinstance(task_id, str) else None)
        return Task(
            task_id=task.TaskId,
            kind=Kind.PULL_STREAM,
            status=derive_status(task, observed_at),
            vendor_status=task.Status,
            start_time=task.StartTime,
            end_time=task.EndTime,
            raw=raw,
            domain=task.DomainName,
            app=task.AppName,
            stream=task.StreamName,
        )
