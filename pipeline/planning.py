"""What one run must fetch for one source, from its rules and its recorded coverage. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipeline.periods import Period, merge, subtract
from pipeline.windows import Window, WindowRules, plan_windows


@dataclass(frozen=True, slots=True)
class Plan:
    """The windows to fetch, and what the vendor can no longer serve."""

    windows: list[Window]
    unreachable: list[Period] = field(default_factory=list)
    """Wanted start times older than the vendor's reach (clamped, or lost)."""
    skipped: list[Period] = field(default_factory=list)
    """Wanted start times already complete in the database."""


def plan_sync(
    rules: WindowRules, now: datetime, settled: list[Period], first_covered: datetime | None
) -> Plan:
    """Everything within reach that may still change or was never fetched.

    When earlier runs covered start times that fell out of reach before they settled, those
    start times are lost: they come back as `unreachable` so the run can record the gap.
    """
    reach = rules.reach(now)
    wanted = subtract([reach], settled)
    lost: list[Period] = []
    if first_covered is not None and first_covered < reach.start:
        lost = subtract([Period(first_covered, reach.start)], settled)
    return Plan(plan_windows(rules, wanted, now), lost, _overlap(reach, settled))


def plan_backfill(rules: WindowRules, now: datetime, requested: Period, done: list[Period]) -> Plan:
    """The requested range within reach, less what is already complete (`done`)."""
    reach = rules.reach(now)
    # Only the past can be out of reach; nothing exists beyond the horizon.
    too_old = [p for p in subtract([requested], [reach]) if p.start < reach.start]
    within = requested.clamp(reach)
    wanted = subtract([within], done) if not within.empty else []
    return Plan(plan_windows(rules, wanted, now), too_old, _overlap(within, done))


def _overlap(period: Period, done: list[Period]) -> list[Period]:
    return merge(p.clamp(period) for p in done)
