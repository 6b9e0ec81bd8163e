"""The seam between a request and the vendor's rate limit: what a pacer offers the transport.

A `Pacer` lets a request leave (`async with pacer:`) at most at its current `rate`, counted over
every sliding second; `set_rate` changes the pace (the adaptive controller lowers it when the
vendor answers "rate limited" and raises it again after quiet periods, never above `ceiling`).
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Protocol


class Pacer(Protocol):
    """Lets requests leave at no more than `rate` in any sliding second."""

    @property
    def rate(self) -> float:
        """The current pace, requests per second."""
        ...

    @property
    def ceiling(self) -> float:
        """The pace it may never exceed: the documented or configured limit."""
        ...

    def set_rate(self, rate: float) -> None:
        """Change the pace (clamped to (0, ceiling])."""
        ...

    async def __aenter__(self) -> None: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


MARGIN_SECONDS = 0.02
"""Added to the one-second span: arrivals may bunch by this much on the way to the vendor."""
MIN_GAP = 0.75
"""No two requests leave closer than this fraction of the even spacing at the current rate."""


class StrictPacer:
    """A `Pacer` that never lets more than `rate` requests leave in any 1 s + margin.

    Each departure is recorded on the monotonic `clock`. A request leaves once the departure
    `rate` places back is more than one second and the margin old, and the last one is at least
    `MIN_GAP` of the even spacing old. Both bounds come from recorded departures, never from a
    schedule, so a late wake-up cannot send a burst after it; the slack between the two bounds
    lets the requests after a late one win its time back within the second, so the pace holds
    at `rate / (1 s + margin)`. Waiters leave one at a time, first come first served. A new
    pacer starts as if requests had left at that pace until then, so it begins evenly spaced.
    """

    def __init__(
        self,
        rate: float,
        *,
        ceiling: float | None = None,
        margin: float = MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._ceiling = rate if ceiling is None else ceiling
        if not 0 < self._ceiling < math.inf:
            raise ValueError(f"a pacer needs a finite positive rate, not {self._ceiling}")
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()  # FIFO: waiters leave in the order they came
        self._departures: deque[float] = deque()
        self.set_rate(rate)
        # As if a run before this one had kept the pace until now (a restarted process, a sync
        # right after a backfill): the vendor still counts its last second.
        now, step = clock(), self._span / self._count
        self._departures.extend(now - step * k for k in reversed(range(self._count)))

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def ceiling(self) -> float:
        return self._ceiling

    def set_rate(self, rate: float) -> None:
        self._rate = min(max(rate, sys.float_info.min), self._ceiling)
        # At most `count` departures in any `span`: rate per 1 s + margin, or one per 1/rate.
        self._count = max(1, math.floor(self._rate))
        self._span = (1.0 + self._margin) * max(1.0, 1.0 / self._rate)
        self._gap = MIN_GAP * self._span / max(self._rate, 1.0)
        # Raised, the deque holds fewer than `count`: those before it left over a `span` ago.
        self._departures = deque(self._departures, maxlen=self._count)

    def _wait(self, now: float) -> float:
        """Seconds until the next request may leave, from the recorded departures."""
        # Never empty: the constructor records `count` departures, and set_rate keeps the last.
        earliest = self._departures[-1] + self._gap
        if len(self._departures) == self._count:
            earliest = max(earliest, self._departures[0] + self._span)
        return earliest - now

    async def __aenter__(self) -> None:
        async with self._lock:
            # Looped: set_rate may lower the pace while a waiter sleeps.
            while (wait := self._wait(self._clock())) > 0:
                await self._sleep(wait)
            self._departures.append(self._clock())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None
