"""The loader benchmark's rows: synthetic record tasks, normalized as the pipeline would."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from pipeline.model import SourceKey, Status, Task
from pipeline.payloads import json_bytes
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.record_tasks import RecordTasks

KEY = SourceKey("tencent", "bench", "DescribeRecordTask")
TASK_COLUMNS = (
    "vendor",
    "account",
    "api",
    "task_id",
    "kind",
    "domain",
    "app",
    "stream",
    "room_id",
    "status",
    "vendor_status",
    "start_time",
    "end_time",
    "raw",
    "first_seen_at",
    "last_seen_at",
)
DAYS_BACK, DAYS_AHEAD = 90, 7
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoaderConfig:
    """How many rows, in which windows and pages, and which share of them a reload changes."""

    rows: int = 200_000
    window_rows: int = 20_000
    page_rows: int = 100
    change_every: int = 10
    seed: int = 7


def make_tasks(config: LoaderConfig, now: datetime) -> list[Task]:
    """`config.rows` synthetic record tasks, normalized as the pipeline would, by start time."""
    per_day = math.ceil(config.rows / (DAYS_BACK + DAYS_AHEAD))
    raws = generate_record_tasks(int(now.timestamp()), DAYS_BACK, DAYS_AHEAD, per_day, config.seed)
    source = RecordTasks()
    tasks = [source.normalize(raw, now) for raw in raws[: config.rows]]
    return [t for t in tasks if isinstance(t, Task)]


def with_changes(tasks: Sequence[Task], every: int) -> list[Task]:
    """`tasks` where every `every`-th one was stopped (or stopped a second later than it was)."""
    return [_stopped(t) if i % every == 0 else t for i, t in enumerate(tasks)]


def _stopped(task: Task) -> Task:
    stopped = int(task.raw.get("Stopped") or task.raw["StartTime"]) + 1
    return replace(task, status=Status.STOPPED, raw={**task.raw, "Stopped": stopped})


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def task_row(task: Task, seen_at: datetime) -> tuple:
    """A tasks row as the baselines send it, raw serialized the way the Loader does."""
    return (
        KEY.vendor,
        KEY.account,
        KEY.api,
        task.task_id,
        task.kind.value,
        task.domain,
        task.app,
        task.stream,
        task.room_id,
        task.status.value,
        task.vendor_status,
        task.start_time,
        task.end_time,
        json_bytes(task.raw).decode(),
        seen_at,
    )
