"""A per-key token bucket, the way a vendor gateway counts requests per second."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per (action, key): one second's worth of burst, refilled at the rate."""

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
        self._buckets: dict[tuple[str, Hashable], _Bucket] = {}

    def rate(self, action: str) -> float:
        """Requests per second allowed for `action` (infinite when unlimited)."""
        return self._rates.get(action, self._default)

    def set_rate(self, action: str, rate: float) -> None:
        """Change the rate of `action`; benchmarks raise it far above the documented value."""
        self._rates[action] = rate

    def allow(self, action: str, key: Hashable = "") -> bool:
        """Take one token from the bucket of (`action`, `key`); False when it is empty."""
        rate = self.rate(action)
        if math.isinf(rate):
            return True
        capacity = max(rate, 1.0)
        now = self._clock()
        bucket = self._buckets.get((action, key))
        if bucket is None:
            bucket = self._buckets[(action, key)] = _Bucket(capacity, now)
        elapsed = max(now - bucket.updated, 0.0)
        bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True
