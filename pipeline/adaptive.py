"""A source's pace, fitted to what the vendor answers: additive increase, multiplicative decrease.

Tencent counts its limit ("the first N requests in each second succeed") per API, region and
sub-account, so whatever else runs on the same sub-account spends the same budget. A rate-limited
answer lowers the pace: to `fit` of what the vendor admitted of ours over the last second (sent
less refused: while we are refused, that is the budget left to us), and at least by `decrease`.
A burst of refusals is one signal for `hold` seconds: it may only bring the pace down to what the
vendor admitted, never cut it by `decrease` again, and never below `deepest` of the pace it cut.
Every `quiet` seconds without a refusal raise the pace by `step` of the ceiling, never above it.
Decisions only: the clock is passed in, the pacer applies the pace, and nothing is dropped (a
refused request is retried through it).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from pipeline.pacing import Pacer

log = structlog.get_logger(__name__)

OBSERVED_SECONDS = 1.0
"""What the vendor admitted of ours is counted over its limit's window: when it refuses one, the
window is full, so what it holds of ours is what is left to us, however long we have run."""


@dataclass(frozen=True, slots=True)
class PaceRules:
    """How fast a pace falls and climbs back."""

    decrease: float = 0.95
    """The least a refusal cuts, as a factor: a small overshoot of a climb costs little."""
    fit: float = 1.0
    """The pace set from what the vendor admitted in the last second, as a share of it. Measured
    (`benchmarks --pressure`, another client spending 30% of 20/s): a plain cut by 0.7 used 0.82
    of the budget left, by 0.85 0.87-0.94 with 3.5% of requests refused; fitted, see README. The
    strict pacer's margin keeps the pace sent a little under it."""
    deepest: float = 0.5
    """One burst of refusals never cuts the pace below this share of the pace it started at (a
    second in which a rival took the whole budget says little of the next)."""
    hold: float = 1.0
    """Seconds after a cut during which further refusals are the same signal (the vendor's
    window is one second; requests already in flight are refused after the cut too)."""
    quiet: float = 3.0
    """Seconds without a refusal before each step up."""
    step: float = 0.025
    """A step up, as a share of the ceiling: small, so a climb overshoots the budget rarely and
    by little (from 0.7 of the ceiling back to it in 36 s)."""
    floor: float = 0.05
    """The lowest pace, as a share of the ceiling ..."""
    min_floor: float = 1.0
    """... and never under this many requests per second (unless the ceiling is lower)."""


class AdaptivePace:
    """Lowers and raises one pacer's rate from the refusals it sees and the time between them."""

    def __init__(
        self,
        pacer: Pacer,
        clock: Callable[[], float],
        rules: PaceRules | None = None,
        action: str = "",
    ) -> None:
        self._pacer = pacer
        self._clock = clock
        self._rules = rules or PaceRules()
        self._action = action
        self._cut_at = -math.inf
        self._cut_from = pacer.rate
        self._quiet_since = clock()
        self._sent: deque[float] = deque()
        self._refusals: deque[float] = deque()
        self.lowest = pacer.rate
        """The lowest pace of the run so far."""

    @property
    def rate(self) -> float:
        return self._pacer.rate

    @property
    def floor(self) -> float:
        """The pace a run of refusals stops lowering at."""
        ceiling = self._pacer.ceiling
        return min(ceiling, max(self._rules.min_floor, self._rules.floor * ceiling))

    def sent(self) -> None:
        """A request left: counted, and each quiet period passed since the last change steps up."""
        now = self._clock()
        self._sent.append(now)
        self._forget(now)
        periods = math.floor((now - self._quiet_since) / self._rules.quiet)
        if periods <= 0:
            return
        self._quiet_since += periods * self._rules.quiet
        ceiling = self._pacer.ceiling
        self._set(min(ceiling, self.rate + periods * self._rules.step * ceiling), "quiet")

    def refused(self) -> None:
        """The vendor answered "rate limited": slow down to what it admits."""
        now = self._clock()
        self._quiet_since = now
        self._refusals.append(now)
        self._forget(now)
        admitted = max(0, len(self._sent) - len(self._refusals)) / OBSERVED_SECONDS
        target = admitted * self._rules.fit
        if now - self._cut_at >= self._rules.hold:
            self._cut_at, self._cut_from = now, self.rate
            target = min(target, self.rate * self._rules.decrease)
        deepest = max(self.floor, self._cut_from * self._rules.deepest)
        if target < self.rate:
            self._set(max(deepest, target), "rate_limited")

    def _forget(self, now: float) -> None:
        for times in (self._sent, self._refusals):
            while times and now - times[0] > OBSERVED_SECONDS:
                times.popleft()

    def _set(self, rate: float, reason: str) -> None:
        if rate == self.rate:
            return
        self._pacer.set_rate(rate)
        self.lowest = min(self.lowest, self.rate)
        log.info(
            "pace.changed",
            action=self._action,
            rate=round(self.rate, 3),
            ceiling=self._pacer.ceiling,
            reason=reason,
        )
