"""Tasks for loader tests: task n starts n hours after T0, ends an hour later."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.model import Kind, Status, Task
from pipeline.periods import Period

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(days=1))


def task(n: int, **changes: object) -> Task:
    """Task n starts n hours into DAY (from 24 on, past it); `changes` replace its fields."""
    base = Task(
        task_id=f"task-{n}",
        kind=Kind.RECORD,
        status=Status.FINISHED,
        vendor_status=None,
        start_time=T0 + timedelta(hours=n),
        end_time=T0 + timedelta(hours=n + 1),
        raw={"TaskId": f"task-{n}", "Stopped": 0},
        domain="d",
        app="live",
        stream=f"s{n}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]
