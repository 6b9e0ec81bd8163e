"""The task shape every vendor is normalized into, and the records that travel with it."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Rejection:
    """A vendor record that could not be normalized, kept aside with its payload."""

    reason: str
    raw: Any
    task_id: str | None = None


Normalized = Task | Rejection
