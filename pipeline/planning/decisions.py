"""What one run must fetch for one source, from its rules and its recorded coverage. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pipeline.periods import Period, merge, subtract
from pipeline.planning.windows import Window, WindowRules, plan_windows

# A task's start time, as the period a window must cover to list it again.
START_POINT = timedelta(milliseconds=1)
# Kept between a widened overlap and a window's span, so windows still move on.
MIN_ADVANCE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A stored task last seen in a status it can still leave."""

    task_id: str
    start: datetime
    end: datetime | None
    status: str

    @property
    def start_point(self) -> Period:
        return Period(self.start, self.start + START_POINT)

    def outlived(self, rules: WindowRules, now: datetime) -> bool:
        """Seen unfinished past the vendor's documented longest task: the vendor changed a rule."""
        return now - self.start > rules.longest_task


@dataclass(frozen=True, slots=True)
class Plan:
    """The windows to fetch, and what the vendor can no longer serve."""

    windows: list[Window]
    unreachable: list[Period] = field(default_factory=list)
    """Wanted start times older than the vendor's reach (clamped, or lost)."""
    skipped: list[Period] = field(default_factory=list)
    """Wanted start times already complete in the database."""
    stranded: list[Unfinished] = field(default_factory=list)
    """Tasks last seen unfinished whose start times fell out of reach: their end is lost."""


def unsettle(
    rules: WindowRules, now: datetime, settled: list[Period], unfinished: Sequence[Unfinished]
) -> tuple[WindowRules, list[Period]]:
    """The rules and settled start times once tasks last seen unfinished are counted.

    Each such task within reach keeps its start time unsettled, whatever `settle_after` says:
    only a fetch that shows it ended settles it. Where a window must hold a task's end, the
    overlap grows to the longest such task, so the window that covers its start lists it.
    """
    within = [t for t in unfinished if t.start >= rules.reach(now).start]
    settled = subtract(settled, [t.start_point for t in within])
    return _widened(rules, within), settled


def _widened(rules: WindowRules, within: Sequence[Unfinished]) -> WindowRules:
    if not rules.end_inside:
        return rules
    margin = rules.overlap - rules.longest_task
    longest = max((t.end - t.start for t in within if t.end is not None), default=timedelta(0))
    overlap = min(max(rules.overlap, longest + margin), rules.max_span - MIN_ADVANCE)
    return replace(rules, overlap=overlap) if overlap != rules.overlap else rules


def plan_sync(
    rules: WindowRules,
    now: datetime,
    settled: list[Period],
    first_covered: datetime | None,
    unfinished: Sequence[Unfinished] = (),
) -> Plan:
    """Everything within reach that may still change or was never fetched.

    When earlier runs covered start times that fell out of reach before they settled, those
    start times are lost: they come back as `unreachable` so the run can record the gap. Tasks
    last seen unfinished keep their start times in the plan while within reach (`unsettle`);
    those that fell out of reach come back as `stranded`.
    """
    reach = rules.reach(now)
    lost: list[Period] = []
    if first_covered is not None and first_covered < reach.start:
        lost = subtract([Period(first_covered, reach.start)], settled)
    rules, settled = unsettle(rules, now, settled, unfinished)
    wanted = subtract([reach], settled)
    stranded = [t for t in unfinished if t.start < reach.start]
    return Plan(plan_windows(rules, wanted, now), lost, _overlap(reach, settled), stranded)


def plan_backfill(
    rules: WindowRules,
    now: datetime,
    requested: Period,
    done: list[Period],
    unfinished: Sequence[Unfinished] = (),
) -> Plan:
    """The requested range within reach, less what is already complete (`done`)."""
    reach = rules.reach(now)
    rules, done = unsettle(rules, now, done, unfinished)
    # Only the past can be out of reach; nothing exists beyond the horizon.
    too_old = [p for p in subtract([requested], [reach]) if p.start < reach.start]
    within = requested.clamp(reach)
    wanted = subtract([within], done)
    return Plan(plan_windows(rules, wanted, now), too_old, _overlap(within, done))


def _overlap(period: Period, done: list[Period]) -> list[Period]:
    return merge(p.clamp(period) for p in done)
