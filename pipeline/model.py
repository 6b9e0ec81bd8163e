"""The task shape every vendor is normalized into, and the records that travel with it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Normalized task status, the same for every vendor."""

    SCHEDULED = "scheduled"
    RUNNING = "running"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Kind(StrEnum):
    """What a task does."""

    RECORD = "record"
    PULL_STREAM = "pull_stream"


@dataclass(frozen=True, slots=True)
class Task:
    """One vendor task in the shape of the `tasks` table (see CONTRACT.md)."""

    task_id: str
    kind: Kind
    status: Status
    vendor_status: str | None
    start_time: datetime | None
    end_time: datetime | None
    raw: dict[str, Any]
    domain: str | None = None
    app: str | None = None
    stream: str | None = None
    room_id: str | None = None


# A task's columns, declared once; tests/test_columns.py checks that the SQL and the tables agree.
TASK_KEY = ("vendor", "account", "api")
"""The columns naming a task's source (a `SourceKey`)."""
COMPARED_COLUMNS = (
    "kind", "domain", "app", "stream", "room_id", "status", "vendor_status", "start_time",
    "end_time", "raw",
)  # fmt: skip
"""What a merge compares, in this order (the content hash digests them so: never reorder)."""
CONTENT_COLUMNS = ("task_id", *COMPARED_COLUMNS)
"""A `Task`'s fields, in the tables' order."""
TASK_COLUMNS = (*TASK_KEY, *CONTENT_COLUMNS, "first_seen_at", "last_seen_at", "content_hash")
"""What a load writes of a new row of `tasks` (`vendor_deleted_at` only a complete listing sets)."""
READ_COLUMNS = (*TASK_KEY, *CONTENT_COLUMNS, "seen_at", "content_hash")
"""One read of a task: a row of `deferred_reads`; of `stage_tasks`, between `ord` and `outside`."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A vendor record that could not be normalized, kept aside with its payload."""

    reason: str
    raw: Any
    task_id: str | None = None


Normalized = Task | Rejection


@dataclass(frozen=True, slots=True)
class SourceKey:
    """Which vendor, account and API rows belong to."""

    vendor: str
    account: str
    api: str

    def __str__(self) -> str:
        return f"{self.vendor}/{self.account}/{self.api}"


@dataclass(slots=True)
class LoadCounts:
    """What one load did."""

    seen: int = 0
    inserted: int = 0
    changed: int = 0
    rejected: int = 0
    deleted: int = 0

    def add(self, other: LoadCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def merged(self, inserted: int, changed: int) -> None:
        """Count what a merge did."""
        self.inserted += inserted
        self.changed += changed


@dataclass(slots=True)
class CallStats:
    """Requests sent and retries made by one source, and the pace it was sent at."""

    requests: int = 0
    retries: int = 0
    hedges: int = 0
    """Requests sent again because the first was late (counted in `requests` too)."""
    pace: float | None = None
    """The source's current pace, requests per second (None: a limiter that cannot adapt)."""
    lowest_pace: float | None = None


@dataclass(slots=True)
class SourceResult:
    """What one source did in one run."""

    key: SourceKey
    started_at: datetime
    ended_at: datetime | None = None
    outcome: str = "running"
    windows_planned: int = 0
    windows_done: int = 0
    counts: LoadCounts = field(default_factory=LoadCounts)
    requests: int = 0
    retries: int = 0
    hedges: int = 0
    """Requests sent again because the first was late (counted in `requests` too)."""
    pace: float | None = None
    """The pace at the end, requests per second (None: not adaptive)."""
    lowest_pace: float | None = None
    notes: list[str] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None

    def take_stats(self, stats: CallStats) -> None:
        """Copy what the source's transport counted."""
        self.requests, self.retries, self.hedges = stats.requests, stats.retries, stats.hedges
        self.pace, self.lowest_pace = stats.pace, stats.lowest_pace

    def as_dict(self) -> dict[str, Any]:
        return {
            "vendor": self.key.vendor,
            "account": self.key.account,
            "api": self.key.api,
            "outcome": self.outcome,
            "windows_planned": self.windows_planned,
            "windows_done": self.windows_done,
            "tasks_seen": self.counts.seen,
            "tasks_inserted": self.counts.inserted,
            "tasks_changed": self.counts.changed,
            "tasks_rejected": self.counts.rejected,
            "tasks_deleted": self.counts.deleted,
            "requests": self.requests,
            "retries": self.retries,
            "hedges": self.hedges,
            "pace": self.pace,
            "lowest_pace": self.lowest_pace,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "notes": self.notes,
        }
