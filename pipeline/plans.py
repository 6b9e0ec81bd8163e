"""What a run asks of one source: read its coverage, then plan (the I/O half of planning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from pipeline.db import coverage
from pipeline.db.loader import SourceKey
from pipeline.periods import Period
from pipeline.planning import Plan, plan_backfill, plan_sync
from pipeline.windows import WHOLE_ACCOUNT, WindowRules

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
    if isinstance(request, SyncRequest):
        return await _sync(conn, key, rules, now, settled, run_id)
    done = [] if request.refetch else settled
    if request.resume_from is not None and not request.refetch:
        done = done + await coverage.covered_since(conn, key, request.resume_from)
    plan = plan_backfill(rules, now, request.period, done)
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
    run_id: UUID | None,
) -> SourcePlan:
    plan = plan_sync(rules, now, settled, await coverage.first_covered(conn, key))
    reason = "fell out of the vendor's reach before a run fetched it"
    gaps = await coverage.record_gaps(conn, key, plan.unreachable, run_id, reason, now)
    for gap in gaps:
        log.warning("coverage.gap", period=str(gap), reason=reason)
    return SourcePlan(plan, [f"gap recorded: tasks starting in {g} are lost" for g in gaps])
