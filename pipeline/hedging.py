"""Hedged reads: when an answer is late, the same idempotent read is sent again; first good wins.

A stalled request holds its window's page chain until the per-request timeout, and the budget it
would have used goes idle. Once an answer takes far longer than this API's recent answers (a high
percentile of a small ring of latencies, times a factor, never less than a second) the transport
sends the read again, through the limiter and freshly signed, and takes whichever good answer comes
first; the other is cancelled. The first request's timeout stays the bound of the pair.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HedgeRules:
    """When a read is late enough to be sent again."""

    samples: int = 50
    """Recent answers remembered per API."""
    min_samples: int = 10
    """Answers needed before the percentile is trusted; until then `cold_delay` applies."""
    percentile: float = 0.95
    factor: float = 3.0
    """A hedge waits this many times the percentile: well above jitter, well below a stall."""
    min_delay: float = 1.0
    """Never sooner: a hedge costs a request of the budget."""
    cold_delay: float = 5.0
    """The wait while too few answers are known (no latency yet says what "late" is)."""
    spares: int = 2
    """Hedges per read at most, the second one delay after the first: a hedge can be held too."""


class Latencies:
    """A ring of one API's recent answer times and the hedge delay they imply."""

    def __init__(self, rules: HedgeRules | None = None) -> None:
        self._rules = rules or HedgeRules()
        self._ring: deque[float] = deque(maxlen=self._rules.samples)

    def add(self, seconds: float) -> None:
        self._ring.append(seconds)

    def hedge_after(self) -> float:
        """Seconds after which a request still unanswered is sent again."""
        rules = self._rules
        if len(self._ring) < rules.min_samples:
            return max(rules.cold_delay, rules.min_delay)
        ordered = sorted(self._ring)
        high = ordered[max(math.ceil(rules.percentile * len(ordered)) - 1, 0)]
        return max(rules.min_delay, rules.factor * high)


async def first_good(
    tasks: Iterable[asyncio.Future[T]],
    within: float,
    spare: Callable[[], Awaitable[T]] | None = None,
    *,
    every: float = math.inf,
    spares: int = 0,
) -> T:
    """The first of `tasks` to succeed, within `within` seconds; the others are cancelled.

    With `spare`, while no answer has come, one more is started at once and then every `every`
    seconds, `spares` at most: a hedge that is itself held does not hold the read. When every
    task fails, the first failure is raised; when time runs out first, TimeoutError.
    """
    loop = asyncio.get_running_loop()
    order = list(tasks)
    pending = set(order)
    failure: BaseException | None = None
    start = loop.time()
    deadline, sent = start + within, 0
    try:
        while pending:
            next_spare = (
                start + (every * sent if sent else 0.0)
                if spare is not None and sent < spares
                else math.inf
            )
            if loop.time() >= next_spare:
                sent += 1
                order.append(asyncio.ensure_future(spare()))  # type: ignore[misc]
                pending.add(order[-1])
                continue
            wake = min(next_spare, deadline)
            done, pending = await asyncio.wait(
                pending, timeout=max(wake - loop.time(), 0.0), return_when=asyncio.FIRST_COMPLETED
            )
            for task in sorted(done, key=order.index):
                exc = task.exception()
                if exc is None:
                    return task.result()
                failure = failure or exc
            if loop.time() >= deadline:
                break
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    if failure is not None:
        raise failure
    raise TimeoutError
