"""A per-key sliding-second counter, the way a strict vendor gateway counts requests."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping

WINDOW_SECONDS = 1.0


class RateLimiter:
    """Admits at most `rate` requests per (action, key) in any sliding second.

    A request is refused when `rate` requests were admitted in the second before it; refused
    requests are not counted. A rate below one admits one request per 1/rate seconds.
    """

    def __init__(
        self,
        rates: Mapping[str, float] | None = None,
        *,
        default: float = math.inf,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rates = dict(rates or {})
        self._default = default
        self._clock = clock
        self._admitted: dict[tuple[str, Hashable], deque[float]] = {}

    def rate(self, action: str) -> float:
        """Requests per second allowed for `action` (infinite when unlimited)."""
        return self._rates.get(action, self._default)

    def set_rate(self, action: str, rate: float) -> None:
        """Change the rate of `action`: a configured override, or far above it for benchmarks."""
        self._rates[action] = rate

    def allow(self, action: str, key: Hashable = "") -> bool:
        """Admit one request to (`action`, `key`) now; False when its second is full."""
        rate = self.rate(action)
        if math.isinf(rate):
            return True
        count = max(1, math.floor(rate))
        span = WINDOW_SECONDS * max(1.0, 1.0 / rate)
        now = self._clock()
        admitted = self._admitted.setdefault((action, key), deque())
        while admitted and now - admitted[0] >= span:
            admitted.popleft()
        if len(admitted) >= count:
            return False
        admitted.append(now)
        return True
