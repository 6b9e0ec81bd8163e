"""A source's pace, fitted to what the vendor answers: additive increase, multiplicative decrease.

Tencent counts its limit ("the first N requests in each second succeed") per API, region and
sub-account, so whatever else runs on the same sub-account spends the same budget. A rate-limited
answer lowers the pace (times `decrease`, not below the floor); a burst of refusals is one
signal, so it is lowered at most once per `hold` seconds. Every `quiet` seconds without a refusal
raise it by `step` of the ceiling, never above the ceiling. Decisions only: the clock is passed
in, the pacer applies the pace, and nothing is dropped (a refused request is retried through it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from pipeline.pacing import Pacer

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PaceRules:
    """How fast a pace falls and climbs back."""

    decrease: float = 0.85
    """Factor applied on a refusal. Measured (`benchmarks --pressure`, another client spending
    30% of 20/s): 0.7 used 0.82 of the budget left, 0.85 with the steps below 0.94."""
    hold: float = 1.0
    """Seconds after a cut during which further refusals are the same signal (the vendor's
    window is one second; requests already in flight are refused after the cut too)."""
    quiet: float = 3.0
    """Seconds without a refusal before each step up."""
    step: float = 0.025
    """A step up, as a share of the ceiling: small, so a climb overshoots the budget rarely and
    by little (from 0.85 back to the ceiling in 18 s)."""
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
        self._quiet_since = clock()
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

    def refused(self) -> None:
        """The vendor answered "rate limited": slow down, once per burst."""
        now = self._clock()
        self._quiet_since = now
        if now - self._cut_at < self._rules.hold:
            return
        self._cut_at = now
        self._set(max(self.floor, self.rate * self._rules.decrease), "rate_limited")

    def tick(self) -> None:
        """Called as requests leave: each quiet period passed since the last change steps up."""
        now = self._clock()
        periods = math.floor((now - self._quiet_since) / self._rules.quiet)
        if periods <= 0:
            return
        self._quiet_since += periods * self._rules.quiet
        ceiling = self._pacer.ceiling
        self._set(min(ceiling, self.rate + periods * self._rules.step * ceiling), "quiet")

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
