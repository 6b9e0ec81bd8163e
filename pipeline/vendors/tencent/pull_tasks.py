"""`DescribeLivePullStreamTasks`: relay tasks, listed whole and paged by position.

The list is ordered by last update, newest first, and paged by position, so it shifts while it
is read: an update moves a task to the front (a reader may miss it), a deletion pulls later tasks
one place up (a reader may skip one). `pipeline.listing` rescans until a scan is consistent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import PagingError
from pipeline.listing import ListPage, numbered_pages, page_count
from pipeline.model import Kind, Normalized, Rejection, Status, Task
from pipeline.planning.windows import Window
from pipeline.redaction import Redaction
from pipeline.source import Caller, Record
from pipeline.validation import UtcTime, validate

log = structlog.get_logger(__name__)

PAGE_SIZE = 20  # the largest the API allows
SCANS = 4
# `txSecret=…&txTime=…`: a push signature valid until txTime, and with it a sample for a
# dictionary attack on the domain's push key (txSecret = MD5(key + stream + txTime)). The URLs
# (SourceUrls, CallbackUrl, BackupSourceUrl, BackupToUrl, RecentPullInfo.FileUrl, …) are scanned
# as every string is: their users, passwords and credential parameters are replaced.
# CreateBy and UpdateBy name the company's operators: personal data analysts need not read.
REDACT = Redaction(fields=("PushArgs", "CreateBy", "UpdateBy"))


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


def _page(payload: Mapping[str, Any], api: str) -> ListPage:
    records = payload.get("TaskInfos") or []
    if not isinstance(records, list):
        raise PagingError(f"{api} answered a TaskInfos that is not a list")
    total, pages = page_count(payload.get("TotalNum"), payload.get("TotalPage"), PAGE_SIZE, api)
    if total > 0 and not records and payload.get("PageNum", 1) == 1:
        raise PagingError(f"{api} reported TotalNum {total} but its first page is empty")
    return ListPage(records, total, pages)


@dataclass(frozen=True)
class PullStreamTasks:
    """The `DescribeLivePullStreamTasks` source: the whole account on every run."""

    api: str = "DescribeLivePullStreamTasks"
    default_rate: float = 30.0
    rules: None = None
    scans: int = SCANS
    redaction: Redaction = REDACT

    def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        # Ordered by last update, newest first: every change shows at the front of page 1.
        return numbered_pages(
            call, _page, api=self.api, page_size=PAGE_SIZE, scans=self.scans,
            front_moves_on_change=True,
        )  # fmt: skip

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        task = validate(PullStreamTask, raw)
        if isinstance(task, Rejection):
            return task
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
