"""`DescribeRecordTask`: record tasks listed by week-long windows and paged by ScrollToken."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import structlog
from pydantic import BaseModel, ConfigDict, Field

from pipeline.chains import NewsCheck
from pipeline.errors import PagingError, RequestRejected
from pipeline.model import Kind, Normalized, Rejection, Status, Task
from pipeline.planning.windows import Window, WindowRules
from pipeline.redaction import Redaction
from pipeline.source import Caller, Record
from pipeline.validation import MAX_UNIX_SECONDS, validate

log = structlog.get_logger(__name__)

# A refused ScrollToken (expired: its validity is undocumented) restarts the window this often.
TOKEN_RESTARTS = 2

# Tencent returns a task only when its start AND end lie inside the window; tasks last at most
# 24 h, end before creation + 7 days, and can be listed back to now - 90 days.
RULES = WindowRules(
    max_span=timedelta(weeks=1) - timedelta(seconds=60),
    overlap=timedelta(hours=24, seconds=60),
    reach_back=timedelta(days=90) - timedelta(seconds=600),
    horizon=timedelta(days=7),
    settle_after=timedelta(hours=24, seconds=60),
    longest_task=timedelta(hours=24),
    end_inside=True,
)


class RecordTask(BaseModel):
    """One `RecordTask` as the SDK models it; unknown fields are kept, not refused."""

    model_config = ConfigDict(extra="allow", strict=True)

    TaskId: Annotated[str, Field(min_length=1)]
    DomainName: str | None = None
    AppName: str | None = None
    StreamName: str | None = None
    StartTime: Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS)]
    EndTime: Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS)]
    TemplateId: int | None = None
    Stopped: Annotated[int, Field(ge=0, le=MAX_UNIX_SECONDS)] = 0


def derive_status(task: RecordTask, observed_at: datetime) -> Status:
    """Tencent has no status field: `Stopped` is a stop timestamp, the rest follows the clock."""
    now = observed_at.timestamp()
    if task.Stopped > 0:
        return Status.STOPPED
    if now < task.StartTime:
        return Status.SCHEDULED
    if now < task.EndTime:
        return Status.RUNNING
    return Status.FINISHED


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# Ids, names, times and a template id: nothing beyond the scan of every string.
REDACT = Redaction()


@dataclass(frozen=True)
class RecordTasks:
    """The `DescribeRecordTask` source."""

    api: str = "DescribeRecordTask"
    default_rate: float = 20.0
    rules: WindowRules = RULES
    redaction: Redaction = REDACT

    async def fetch(self, call: Caller, window: Window) -> AsyncIterator[list[Record]]:
        query = {
            "StartTime": int(window.query.start.timestamp()),
            "EndTime": int(window.query.end.timestamp()),
        }
        tokens_seen: set[str] = set()
        news = NewsCheck(self.api, "TaskId")
        token = ""
        restarts = 0
        while True:
            try:
                payload = await call({**query, "ScrollToken": token} if token else query)
            except RequestRejected as exc:
                # A token belongs to one query and may expire: the window starts over. Pages
                # already read stay loaded; reading them again changes nothing.
                refused = token and exc.code.startswith("InvalidParameter")
                if not refused or restarts == TOKEN_RESTARTS:
                    raise
                restarts += 1
                log.warning("window.restarted", reason=str(exc), restart=restarts)
                tokens_seen.clear()
                news.restart()
                token = ""
                continue
            records = payload.get("TaskList") or []
            if not isinstance(records, list):
                raise PagingError(f"{self.api} returned TaskList of type {type(records).__name__}")
            yield records
            token = payload.get("ScrollToken") or ""
            if not token or not records:
                return
            news.page(records)
            if token in tokens_seen:
                raise PagingError(f"{self.api} returned ScrollToken {token!r} twice")
            tokens_seen.add(token)

    def normalize(self, raw: Record, observed_at: datetime) -> Normalized:
        task = validate(RecordTask, raw)
        if isinstance(task, Rejection):
            return task
        if task.EndTime < task.StartTime:
            return Rejection("EndTime: before StartTime", raw, task.TaskId)
        return Task(
            task_id=task.TaskId,
            kind=Kind.RECORD,
            status=derive_status(task, observed_at),
            vendor_status=None,
            start_time=_utc(task.StartTime),
            end_time=_utc(task.EndTime),
            raw=raw,
            domain=task.DomainName,
            app=task.AppName,
            stream=task.StreamName,
        )
