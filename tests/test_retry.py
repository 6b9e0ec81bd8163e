"""The retry policy: what is retried, how often, for how long, how long each wait is.

Every test runs on a fake clock that only the waits and the attempts move; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from structlog.testing import capture_logs

from pipeline.config import RetrySettings
from pipeline.errors import (
    AccountDisabled,
    AuthError,
    ChainCut,
    ClockSkew,
    PagingError,
    RateLimited,
    Redirected,
    RequestRejected,
    ResponseTooLarge,
    TransportError,
    UnknownEncoding,
    VendorUnavailable,
)
from pipeline.retry import RetryPolicy, backoff, call_with_retries

# Zero waits through configuration, and bounds far from the ones a test exercises.
NO_WAITS = RetryPolicy(attempts=100, initial_wait=0, max_wait=0, total_timeout=10_000)
DRAWS = 2000
"""Waits drawn per jitter test: the chance that none falls in a 5% band is 0.95**2000, ~1e-45."""


class FakeTime:
    """A monotonic clock moved only by the waits (recorded) and by each attempt's duration."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Vendor:
    """Answers attempts from a script (an exception is raised, anything else returned), then
    repeats its last answer forever; each attempt takes `seconds` on the fake clock."""

    def __init__(self, time: FakeTime, script: Iterable[object], seconds: float = 0.0) -> None:
        self.time = time
        self.script = list(script)
        self.seconds = seconds
        self.attempts = 0
        self.raised: list[BaseException] = []

    async def __call__(self) -> object:
        answer = self.script[min(self.attempts, len(self.script) - 1)]
        self.attempts += 1
        self.time.now += self.seconds
        if isinstance(answer, BaseException):
            self.raised.append(answer)
            raise answer
        return answer


def unavailable() -> VendorUnavailable:
    return VendorUnavailable("InternalError", "try again later", http_status=503)


async def call(vendor: Vendor, policy: RetryPolicy = NO_WAITS, **options: object) -> object:
    # As the transport calls it: a plain function that returns an awaitable.
    return await call_with_retries(
        lambda: vendor(), policy, clock=vendor.time, sleep=vendor.time.sleep, **options
    )


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


# --- what is retried ------------------------------------------------------------------------


async def test_a_first_answer_is_returned_without_a_retry(time: FakeTime) -> None:
    vendor = Vendor(time, ["page"])
    assert await call(vendor) == "page"
    assert vendor.attempts == 1
    assert time.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        TransportError("timed out"),
        RateLimited("RequestLimitExceeded", "too fast"),
        VendorUnavailable("InternalError", "busy", http_status=503),
    ],
    ids=["transport", "rate-limited", "unavailable"],
)
async def test_a_retryable_failure_is_retried_until_an_answer_comes(
    time: FakeTime, failure: BaseException
) -> None:
    vendor = Vendor(time, [failure, failure, failure, "page"])
    assert await call(vendor) == "page"
    assert vendor.attempts == 4


@pytest.mark.parametrize(
    "failure",
    [
        AuthError("AuthFailure.SignatureFailure", "bad signature"),
        RequestRejected("InvalidParameter", "bad page size"),
        AccountDisabled("ResourceUnavailable", "account frozen"),
        Redirected("302 to https://elsewhere"),
        UnknownEncoding("br"),
        PagingError("repeated token"),
        ResponseTooLarge("60 MB"),
        ChainCut("no new records"),
        ValueError("a bug of ours"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_failure_retrying_cannot_help_is_raised_at_once_as_itself(
    time: FakeTime, failure: BaseException
) -> None:
    vendor = Vendor(time, [failure, "page"])
    with pytest.raises(type(failure)) as raised:
        await call(vendor)
    assert raised.value is failure
    assert vendor.attempts == 1


async def test_a_clock_skew_is_retried_once_then_raised(time: FakeTime) -> None:
    first, second = ClockSkew("SignatureExpire", "a"), ClockSkew("SignatureExpire", "b")
    vendor = Vendor(time, [first, second, "page"])
    with pytest.raises(ClockSkew) as raised:
        await call(vendor)
    assert raised.value is second
    assert vendor.attempts == 2


async def test_a_clock_skew_after_other_failures_still_gets_its_one_retry(
    time: FakeTime,
) -> None:
    skew = ClockSkew("SignatureExpire", "expired")
    vendor = Vendor(time, [unavailable(), unavailable(), skew, "page"])
    assert await call(vendor) == "page"
    assert vendor.attempts == 4


async def test_a_second_clock_skew_ends_the_call_even_with_other_failures_between(
    time: FakeTime,
) -> None:
    skew = ClockSkew("SignatureExpire", "expired")
    vendor = Vendor(time, [skew, unavailable(), skew, "page"])
    with pytest.raises(ClockSkew):
        await call(vendor)
    assert vendor.attempts == 3


# --- the bounds -----------------------------------------------------------------------------


async def test_a_vendor_failing_forever_is_tried_exactly_attempts_times(time: FakeTime) -> None:
    vendor = Vendor(time, [unavailable()])
    policy = RetryPolicy(attempts=5, initial_wait=0, max_wait=0, total_timeout=10_000)
    with pytest.raises(VendorUnavailable):
        await call(vendor, policy)
    assert vendor.attempts == 5


async def test_when_the_attempts_run_out_the_last_failure_is_raised_as_itself(
    time: FakeTime,
) -> None:
    # Not tenacity's RetryError: the run records the vendor's own code.
    failures = [unavailable(), unavailable(), TransportError("connection reset")]
    vendor = Vendor(time, failures)
    policy = RetryPolicy(attempts=3, initial_wait=0, max_wait=0, total_timeout=10_000)
    with pytest.raises(TransportError) as raised:
        await call(vendor, policy)
    assert raised.value is failures[-1]


async def test_a_vendor_failing_forever_is_retried_only_until_the_total_timeout(
    time: FakeTime,
) -> None:
    # Each attempt takes 10 s: the third ends 30 s after the first began, past the 25 s bound.
    vendor = Vendor(time, [unavailable()], seconds=10)
    policy = RetryPolicy(attempts=100, initial_wait=0, max_wait=0, total_timeout=25)
    with pytest.raises(VendorUnavailable) as raised:
        await call(vendor, policy)
    assert vendor.attempts == 3
    assert raised.value is vendor.raised[-1]


async def test_an_attempt_failing_right_at_the_total_timeout_is_the_last(time: FakeTime) -> None:
    vendor = Vendor(time, [unavailable()], seconds=10)
    policy = RetryPolicy(attempts=100, initial_wait=0, max_wait=0, total_timeout=20)
    with pytest.raises(VendorUnavailable):
        await call(vendor, policy)
    assert vendor.attempts == 2


async def test_the_waits_count_towards_the_total_timeout(time: FakeTime) -> None:
    # Instant failures, each retry after the vendor's Retry-After of 4 s: 0, 4, 8, 12 s.
    refused = RateLimited("RequestLimitExceeded", "too fast", retry_after=4)
    vendor = Vendor(time, [refused])
    policy = RetryPolicy(attempts=100, initial_wait=0, max_wait=0, total_timeout=12)
    with pytest.raises(RateLimited):
        await call(vendor, policy)
    assert vendor.attempts == 4
    assert time.sleeps == [4, 4, 4]


# --- the waits ------------------------------------------------------------------------------


async def test_configured_zero_waits_never_wait(time: FakeTime) -> None:
    vendor = Vendor(time, [unavailable(), TransportError("reset"), "page"])
    assert await call(vendor) == "page"
    assert time.sleeps == [0, 0]


async def test_each_wait_is_full_jitter_under_the_growing_ceiling(time: FakeTime) -> None:
    vendor = Vendor(time, [unavailable()])
    policy = RetryPolicy(attempts=7, initial_wait=1, max_wait=8, total_timeout=10_000)
    with pytest.raises(VendorUnavailable):
        await call(vendor, policy)
    ceilings = [1, 2, 4, 8, 8, 8]
    assert len(time.sleeps) == len(ceilings)
    assert all(0 <= s <= c for s, c in zip(time.sleeps, ceilings, strict=True))


def draws(policy: RetryPolicy, attempt: int, exc: BaseException | None = None) -> list[float]:
    return [backoff(policy, attempt, exc) for _ in range(DRAWS)]


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0)])
def test_the_wait_ceiling_doubles_from_the_initial_wait_with_each_attempt(
    attempt: int, ceiling: float
) -> None:
    waits = draws(RetryPolicy(initial_wait=0.5, max_wait=30), attempt, unavailable())
    assert max(waits) <= ceiling
    assert max(waits) >= 0.95 * ceiling


@pytest.mark.parametrize("attempt", [7, 8, 20])
def test_no_wait_is_longer_than_max_wait(attempt: int) -> None:
    waits = draws(RetryPolicy(initial_wait=0.5, max_wait=30), attempt, unavailable())
    assert max(waits) <= 30
    assert max(waits) >= 0.95 * 30


@pytest.mark.parametrize("attempt", [1, 4, 8])
def test_full_jitter_spreads_the_waits_from_zero_to_the_ceiling(attempt: int) -> None:
    policy = RetryPolicy(initial_wait=0.5, max_wait=30)
    ceiling = min(30, 0.5 * 2 ** (attempt - 1))
    waits = draws(policy, attempt, TransportError("reset"))
    assert min(waits) >= 0
    assert min(waits) <= 0.05 * ceiling
    assert len(set(waits)) > DRAWS / 2


def test_a_retry_after_longer_than_the_ceiling_is_waited_in_full() -> None:
    refused = RateLimited("RequestLimitExceeded", "too fast", retry_after=45)
    assert draws(RetryPolicy(initial_wait=0.5, max_wait=30), 2, refused) == [45] * DRAWS


def test_a_retry_after_shorter_than_the_jitter_is_only_the_least_wait() -> None:
    refused = RateLimited("RequestLimitExceeded", "too fast", retry_after=1)
    waits = draws(RetryPolicy(initial_wait=0.5, max_wait=30), 4, refused)
    assert min(waits) == 1
    assert max(waits) >= 0.95 * 4


async def test_the_vendors_retry_after_is_waited_before_the_retry(time: FakeTime) -> None:
    refused = RateLimited("RequestLimitExceeded", "too fast", retry_after=7)
    vendor = Vendor(time, [refused, "page"])
    assert await call(vendor) == "page"
    assert time.sleeps == [7]


async def test_a_retry_after_past_the_total_timeout_is_not_waited_the_failure_is_raised(
    time: FakeTime,
) -> None:
    refused = RateLimited("RequestLimitExceeded", "come back in an hour", retry_after=3600)
    vendor = Vendor(time, [refused, "page"])
    policy = RetryPolicy(attempts=10, initial_wait=0, max_wait=0, total_timeout=600)
    with pytest.raises(RateLimited, match="come back in an hour"):
        await call(vendor, policy)
    assert time.sleeps == []


async def test_a_wait_ending_exactly_at_the_total_timeout_is_still_waited(time: FakeTime) -> None:
    refused = RateLimited("RequestLimitExceeded", "too fast", retry_after=600)
    vendor = Vendor(time, [refused, "page"])
    policy = RetryPolicy(attempts=10, initial_wait=0, max_wait=0, total_timeout=600)
    assert await call(vendor, policy) == "page"
    assert time.sleeps == [600]


async def test_a_clock_skew_is_retried_at_once_whatever_the_backoff(time: FakeTime) -> None:
    # The retry is re-signed with a fresh timestamp: waiting would only make it staler.
    vendor = Vendor(time, [ClockSkew("SignatureExpire", "expired"), "page"])
    policy = RetryPolicy(initial_wait=5, max_wait=30)
    assert await call(vendor, policy) == "page"
    assert time.sleeps == [0]


def test_the_policys_defaults_are_the_configs_defaults() -> None:
    assert RetryPolicy() == RetryPolicy(**RetrySettings().model_dump())


# --- what a retry tells the rest ------------------------------------------------------------


async def test_each_retry_is_told_of_the_failure_it_retries(time: FakeTime) -> None:
    failures = [unavailable(), TransportError("reset"), unavailable()]
    vendor = Vendor(time, failures)
    told: list[BaseException] = []
    policy = RetryPolicy(attempts=3, initial_wait=0, max_wait=0, total_timeout=10_000)
    with pytest.raises(VendorUnavailable):
        await call(vendor, policy, on_retry=told.append)
    assert told == failures[:2]  # the last one is raised, not retried


async def test_each_retry_is_logged_with_its_attempt_error_and_wait(time: FakeTime) -> None:
    refused = RateLimited("RequestLimitExceeded", "too fast", retry_after=1.23456)
    vendor = Vendor(time, [refused, "page"])
    with capture_logs() as logs:
        await call(vendor)
    assert logs == [
        {
            "event": "request.retry",
            "log_level": "warning",
            "attempt": 1,
            "error": "RequestLimitExceeded: too fast",
            "wait_seconds": 1.235,
        }
    ]
