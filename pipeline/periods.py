"""Half-open time periods and the set arithmetic that coverage planning needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """The half-open interval [start, end) of timezone-aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Period bounds must be timezone-aware")

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    @property
    def length(self) -> timedelta:
        return max(self.end - self.start, timedelta(0))

    def clamp(self, bounds: Period) -> Period:
        """The part of this period inside `bounds` (possibly empty)."""
        return Period(max(self.start, bounds.start), min(self.end, bounds.end))

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def merge(periods: Iterable[Period]) -> list[Period]:
    """Sorted, non-overlapping union of `periods`; touching periods are joined."""
    merged: list[Period] = []
    for p in sorted(p for p in periods if not p.empty):
        if merged and p.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Period(last.start, max(last.end, p.end))
        else:
            merged.append(p)
    return merged


def subtract(wanted: Iterable[Period], done: Iterable[Period]) -> list[Period]:
    """The parts of `wanted` not covered by `done`."""
    holes = merge(done)
    result: list[Period] = []
    for w in merge(wanted):
        cursor = w.start
        for h in holes:
            if h.end <= cursor or h.start >= w.end:
                continue
            if h.start > cursor:
                result.append(Period(cursor, h.start))
            cursor = max(cursor, h.end)
        if cursor < w.end:
            result.append(Period(cursor, w.end))
    return result
