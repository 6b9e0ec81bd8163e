"""Window planning for vendors whose list endpoint takes a time window. Pure: no I/O, no clock.

Every window is described twice: `query` is what the vendor is asked for; `covers` is the range
of task *start times* whose tasks the answer is guaranteed to hold in full. Coverage is recorded
in start times because that is what stays fixed about a task while it is scheduled, running and
stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.model import Status
from pipeline.periods import Period, merge

UNFINISHED = frozenset({Status.SCHEDULED, Status.RUNNING})


@dataclass(frozen=True, slots=True)
class WindowRules:
    """A windowed API's rules, declared as data by its source."""

    max_span: timedelta
    """Longest window to ask for (kept safely inside the vendor's limit)."""
    overlap: timedelta
    """Longest task, when the vendor returns only tasks wholly inside the window; else zero."""
    reach_back: timedelta
    """How far back the vendor still answers (kept safely inside its limit)."""
    horizon: timedelta
    """No task can end (or start, for start-time filters) later than now + horizon."""
    settle_after: timedelta
    """The earliest a start time may settle after it; a hint, never a proof (see `unfinished`)."""
    longest_task: timedelta
    """The vendor's documented longest task; one seen unfinished for longer is warned about."""
    unfinished: frozenset[Status] = UNFINISHED
    """Statuses a task can still leave: its start time stays unsettled until it is seen out of
    them, whatever `settle_after` says."""
    end_inside: bool = False
    """The vendor lists a task only when its end, too, lies inside the window."""

    def __post_init__(self) -> None:
        # Each window moves on by max_span - overlap: refused here, the planner could not end.
        if self.max_span <= self.overlap:
            raise ValueError(f"max_span {self.max_span} must exceed overlap {self.overlap}")

    def reach(self, now: datetime) -> Period:
        """The start times the vendor can still serve at `now`."""
        return Period(now - self.reach_back, now + self.horizon)


@dataclass(frozen=True, slots=True)
class Window:
    """One query window and the start-time range its complete answer covers."""

    query: Period | None
    """None: the API takes no window and lists the whole account."""
    covers: Period | None

    @property
    def whole_account(self) -> bool:
        return self.query is None


WHOLE_ACCOUNT = Window(query=None, covers=None)


def plan_windows(rules: WindowRules, wanted: list[Period], now: datetime) -> list[Window]:
    """Windows that together return every task starting inside `wanted`, clamped to reach.

    Consecutive windows overlap by `rules.overlap`: a task that starts in one window's covered
    range ends before that window's query ends, so it is always wholly inside one query.
    """
    reach = rules.reach(now)
    windows: list[Window] = []
    for period in merge(p.clamp(reach) for p in wanted):
        start = period.start
        while start < period.end:
            end = min(start + rules.max_span, period.end + rules.overlap, reach.end)
            # Nothing ends after the horizon, so a query reaching it covers every start before it.
            covered_to = end if end >= reach.end else end - rules.overlap
            if covered_to <= start:  # valid rules always advance (WindowRules): fail, never loop
                raise RuntimeError(f"window planning stalled at {start.isoformat()}")
            windows.append(Window(Period(start, end), Period(start, min(covered_to, period.end))))
            start = covered_to
    return windows


def settled(covered: Period, fetched_at: datetime, rules: WindowRules) -> Period:
    """The part of a complete fetch that can no longer change: tasks that had already ended."""
    return Period(covered.start, min(covered.end, fetched_at - rules.settle_after))
