"""The retry policy, in one place: what is retried, how often, and how long to wait.

Retried: transport failures (timeouts, dropped connections, unreadable bodies), rate-limit
answers and server-side errors, with full-jitter exponential backoff that honours a vendor's
Retry-After; a clock-skew answer is retried once (the request is re-signed with a fresh
timestamp), then left to fail. Never retried: auth, parameter and disabled-account errors,
redirects (3xx: the same request gets the same answer).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, stop_after_delay

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
) -> T:
    """Run `attempt` until it succeeds, fails for good, or the policy's bounds are reached."""
    failures: list[BaseException] = []

    def retry(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if exc is None:
            return False
        decision = should_retry(exc, failures)
        failures.append(exc)
        return decision

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return backoff(policy, state.attempt_number, exc)

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
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_timeout),
        wait=wait,
        retry=retry,
        before_sleep=before_sleep,
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            return await attempt()
    raise AssertionError("tenacity ends with a result or an exception")
