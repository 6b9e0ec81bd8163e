"""What a run asks of one source: read its coverage, then plan (the I/O half of planning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from pipeline.db import coverage
from pipeline.model import SourceKey
from pipeline.periods import Period
from pipeline.planning.decisions import Plan, Unfinished, plan_backfill, plan_sync
from pipeline.planning.windows import WHOLE_ACCOUNT, WindowRules

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Fetch everything within reach that may have changed or was never fetched."""


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """Fetch the tasks starting in `period`, skipping what is already complete."""

    period: Period
    refetch: bool = False
    resume_from: datetime | None = None


Request = SyncRequest | BackfillRequest


@dataclass(frozen=True, slots=True)
class SourcePlan:
    """A plan and what the run should tell the user about it."""

    plan: Plan
    notes: list[str] = field(default_factory=list)


async def plan_source(
    conn: asyncpg.Connection,
    key: SourceKey,
    rules: WindowRules | None,
    request: Request,
    now: datetime,
    run_id: UUID | None,
) -> SourcePlan:
    """The windows this run fetches for `key`, with gaps recorded and clamps reported."""
    if rules is None:
        notes = []
        if isinstance(request, BackfillRequest):
            notes.append("lists the whole account: --since/--until do not narrow it")
        return SourcePlan(Plan([WHOLE_ACCOUNT]), notes)
    settled = await coverage.settled_periods(conn, key, rules.settle_after)
    unfinished = await coverage.unfinished_tasks(conn, key, rules.unfinished)
    _warn_outlived(rules, now, unfinished)
    if isinstance(request, SyncRequest):
        return await _sync(conn, key, rules, now, settled, unfinished, run_id)
    done = [] if request.refetch else settled
    if request.resume_from is not None and not request.refetch:
        done = done + await coverage.covered_since(conn, key, request.resume_from)
    plan = plan_backfill(rules, now, request.period, done, unfinished)
    for period in plan.unreachable:
        log.warning(
            "backfill.clamped", period=str(period), reach_starts=str(rules.reach(now).start)
        )
    if plan.skipped:
        log.info("backfill.skipping_complete", periods=[str(p) for p in plan.skipped])
    notes = [
        f"clamped: tasks starting in {p} are beyond the vendor's reach" for p in plan.unreachable
    ]
    return SourcePlan(plan, notes)


async def _sync(
    conn: asyncpg.Connection,
    key: SourceKey,
    rules: WindowRules,
    now: datetime,
    settled: list[Period],
    unfinished: list[Unfinished],
    run_id: UUID | None,
) -> SourcePlan:
    first = await coverage.first_covered(conn, key)
    plan = plan_sync(rules, now, settled, first, unfinished)
    reason = "fell out of the vendor's reach before a run fetched it"
    gaps = await coverage.record_gaps(conn, key, plan.unreachable, run_id, reason, now)
    for gap in gaps:
        log.warning("coverage.gap", period=str(gap), reason=reason)
    notes = [f"gap recorded: tasks starting in {g} are lost" for g in gaps]
    for task in await coverage.record_stranded(conn, key, plan.stranded, run_id, now):
        log.warning(
            "coverage.gap_unfinished", task_id=task.task_id, status=task.status,
            started=task.start.isoformat(),
        )  # fmt: skip
        notes.append(
            f"gap recorded: task {task.task_id} (started {task.start.isoformat()}) was last seen "
            f"{task.status} when it fell out of the vendor's reach; its end is lost"
        )
    return SourcePlan(plan, notes)


def _warn_outlived(rules: WindowRules, now: datetime, unfinished: list[Unfinished]) -> None:
    """One warning per task within reach seen unfinished past the documented longest task."""
    reach = rules.reach(now)
    for task in unfinished:
        if task.start >= reach.start and task.outlived(rules, now):
            log.warning(
                "task.outlived_documented_maximum",
                task_id=task.task_id,
                status=task.status,
                started=task.start.isoformat(),
                hours_since_start=round((now - task.start).total_seconds() / 3600, 1),
                documented_maximum_hours=rules.longest_task.total_seconds() / 3600,
            )
