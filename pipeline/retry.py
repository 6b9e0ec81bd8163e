"""The retry policy, in one place: what is retried, how often, and how long to wait.

Retried: transport failures (timeouts, dropped connections, unreadable bodies), rate-limit
answers and server-side errors, with full-jitter exponential backoff that honours a vendor's
Retry-After; a clock-skew answer is retried once (the request is re-signed with a fresh
timestamp), then left to fail. Never retried: auth, parameter and disabled-account errors,
redirects (3xx: the same request gets the same answer).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt

from pipeline.errors import ClockSkew, RateLimited, TransportError, VendorUnavailable

log = structlog.get_logger(__name__)
T = TypeVar("T")

RETRYABLE = (TransportError, RateLimited, VendorUnavailable)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the retry loop; tests set the waits to zero through config."""

    attempts: int = 8
    initial_wait: float = 0.5
    max_wait: float = 30.0
    total_timeout: float = 600.0


def should_retry(exc: BaseException, failures_so_far: list[BaseException]) -> bool:
    """Whether `exc` is worth another attempt, given the failures before it."""
    if isinstance(exc, ClockSkew):
        return not any(isinstance(e, ClockSkew) for e in failures_so_far)
    return isinstance(exc, RETRYABLE)


def backoff(policy: RetryPolicy, attempt: int, exc: BaseException | None) -> float:
    """Full jitter: a random wait up to the exponential ceiling, never less than Retry-After."""
    if isinstance(exc, ClockSkew):
        return 0.0
    ceiling = min(policy.max_wait, policy.initial_wait * 2 ** (attempt - 1))
    wait = random.uniform(0, ceiling)
    retry_after = getattr(exc, "retry_after", None)
    return max(wait, retry_after) if retry_after else wait


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: Callable[[BaseException], None] | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """Run `attempt` until it succeeds, fails for good, or the policy's bounds are reached.

    The last failure is raised as itself, also at once when the wait before the next attempt
    (a vendor's Retry-After, say) would end past `total_timeout`: no wait outlasts the bound.
    `clock` and `sleep` are seams for tests (a fake clock that the waits advance); the run uses
    the monotonic clock and asyncio.
    """
    failures: list[BaseException] = []
    started = clock()
    upcoming = 0.0

    def out_of_time(state: RetryCallState) -> bool:
        return clock() - started >= policy.total_timeout

    def retry(state: RetryCallState) -> bool:
        nonlocal upcoming
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return False
        decision = should_retry(exc, failures)
        failures.append(exc)
        upcoming = backoff(policy, state.attempt_number, exc)
        return decision and clock() - started + upcoming <= policy.total_timeout

    def wait(state: RetryCallState) -> float:
        return upcoming

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert exc is not None
        log.warning(
            "request.retry",
            attempt=state.attempt_number,
            error=str(exc),
            wait_seconds=round(state.upcoming_sleep, 3),
        )
        if on_retry is not None:
            on_retry(exc)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts) | out_of_time,
        wait=wait,
        retry=retry,
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            return await attempt()
    raise AssertionError("tenacity ends with a result or an exception")
