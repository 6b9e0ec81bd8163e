"""`ListPullRecordTask`: the whole account's pull-record tasks on every run, paged by position.

The list has no time window and no documented order, so every run reads all of it and rescans
when it shifted (see `pipeline.listing`). `GetPullRecordTask` (10/s, its own limiter) is called
only for a list item that lacks one of the eight documented fields.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import PagingError, SourceError
from pipeline.listing import ListPage, numbered_pages, page_count
from pipeline.model import Kind, Normalized, Rejection, Status, Task
from pipeline.planning.windows import Window
from pipeline.redaction import Redaction
from pipeline.source import Caller, Record
from pipeline.validation import UtcTime, validate

log = structlog.get_logger(__name__)

PAGE_SIZE = 500  # the documented maximum
SCANS = 4
# The eight documented fields hold no credential. A pull-record task's source URL (its
# `StreamURL` when the API answers it) is scanned as every string is.
REDACT = Redaction()
GET_API = "GetPullRecordTask"
FIELDS = ("TaskId", "StartTime", "EndTime", "Vhost", "Domain", "App", "Stream", "Status")
# Compared as exact strings; anything else is kept as `unknown` with its raw value.
STATUSES = {
    "停用": Status.STOPPED,
    "未开始": Status.SCHEDULED,
    "生效中": Status.RUNNING,
    "已结束": Status.FINISHED,
}


class PullRecordTask(BaseModel):
    """One list item; fields beyond the documented eight stay in `raw`."""

    model_config = ConfigDict(extra="allow")

    TaskId: Annotated[str, Field(min_length=1, strict=True)]
    StartTime: UtcTime
    EndTime: UtcTime
    Status: Annotated[str, Field(strict=True)]
    Vhost: str | None = None
    Domain: str | None = None
    App: str | None = None
    Stream: str | None = None


def _page(result: Mapping[str, Any], api: str) -> ListPage:
    items = result.get("List") or []
    pagination = result.get("Pagination")
    if not isinstance(items, list) or not isinstance(pagination, dict):
        raise PagingError(f"{api} answered without Result.List and Result.Pagination")
    total, pages = page_count(
        pagination.get("TotalCount"), pagination.get("PageTotal"), PAGE_SIZE, api
    )
    return ListPage(items, total, pages)


def _detail(result: Mapping[str, Any]) -> Mapping[str, Any]:
    # The docs show a flat Result; the SDK since 2025-02 wraps it in Result.TaskDetail.
    detail = result.get("TaskDetail")
    return detail if isinstance(detail, dict) else result


def _missing(record: Record) -> list[str]:
    """The documented fields a list item lacks; none for an item without a usable TaskId."""
    if not isinstance(record, dict) or not isinstance(record.get("TaskId"), str):
        return []
    return [f for f in FIELDS if f not in record]


@dataclass(frozen=True)
class PullRecordTasks:
    """The `ListPullRecordTask` source."""

    api: str = "ListPullRecordTask"
    default_rate: float = 50.0
    rules: None = None
    scans: int = SCANS
    redaction: Redaction = REDACT

    async def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        pages = numbered_pages(
            call, _page, api=self.api, page_size=PAGE_SIZE, scans=self.scans,
            front_moves_on_change=False,
        )  # fmt: skip
        async for records in pages:
            yield await self._completed(call, records)

    async def _completed(self, call: Caller, records: list[Record]) -> list[Record]:
        """The page, its items missing a documented field filled from GetPullRecordTask.

        Nearly every item is complete: only the others become tasks of their own.
        """
        gaps = {i: missing for i, r in enumerate(records) if (missing := _missing(r))}
        if not gaps:
            return records
        filled = await asyncio.gather(
            *(self._complete(call, records[i], missing) for i, missing in gaps.items())
        )
        completed = list(records)
        for i, record in zip(gaps, filled, strict=True):
            completed[i] = record
        return completed

    async def _complete(self, call: Caller, record: Record, missing: list[str]) -> Record:
        """The list item, with its missing documented fields filled from GetPullRecordTask."""
        try:
            detail = _detail(await call({"TaskID": record["TaskId"]}, api=GET_API))
        except SourceError as exc:
            # The task may be gone by now; the normalizer decides what the item is worth.
            log.warning("record.enrich_failed", task_id=record["TaskId"], error=str(exc))
            return record
        return {**record, **{f: detail[f] for f in missing if f in detail}}

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        task = validate(PullRecordTask, raw)
        if isinstance(task, Rejection):
            return task
        return Task(
            task_id=task.TaskId,
            kind=Kind.RECORD,
            status=STATUSES.get(task.Status, Status.UNKNOWN),
            vendor_status=task.Status,
            start_time=task.StartTime,
            end_time=task.EndTime,
            raw=raw,
            domain=task.Domain,
            app=task.App,
            stream=task.Stream,
        )
