"""The strict pacer on a fake clock, and the twins' sliding-second count (issue 15, parts 1-2)."""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_left, bisect_right
from itertools import pairwise

import asyncpg
import pytest

from pipeline.pacing import MARGIN_SECONDS, StrictPacer
from pipeline.planning.sources import SyncRequest
from pipeline.sandbox.ratelimit import RateLimiter
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.sandbox import RATE_LIMITED, ZegoSandbox
from tests.conftest import ZEGO_APP_ID, ZEGO_SECRET, Clock, fast_settings, zego_account
from tests.runs import run


class FakeTime:
    """A monotonic clock that only moves when the pacer sleeps, each sleep `late` seconds late."""

    def __init__(self, late: float = 0.0) -> None:
        self.now = 1000.0
        self.late = late
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds + self.late
        await asyncio.sleep(0)  # let the other waiters queue up meanwhile


def pacer(rate: float, fake: FakeTime, **options: float) -> StrictPacer:
    return StrictPacer(rate, clock=fake, sleep=fake.sleep, **options)


async def departures(limiter: StrictPacer, fake: FakeTime, count: int) -> list[float]:
    """When each of `count` concurrent waiters was let out, in order."""
    times: list[float] = []

    async def one() -> None:
        async with limiter:
            times.append(fake())

    await asyncio.gather(*(one() for _ in range(count)))
    return times


def peak(times: list[float], span: float = 1.0) -> int:
    """The most departures in any closed span of `span` seconds."""
    return max(bisect_right(times, t + span) - i for i, t in enumerate(times))


def pace(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


@pytest.mark.parametrize("rate", [20, 30, 50, 10, 8])
async def test_no_sliding_second_holds_more_than_the_rate(rate: int) -> None:
    fake = FakeTime()
    times = await departures(pacer(rate, fake), fake, rate * 10)
    assert peak(times) == rate
    # The margin too: a request arriving a little late still leaves the vendor's second alone.
    assert peak(times, 1.0 + MARGIN_SECONDS - 1e-9) == rate


@pytest.mark.parametrize("rate", [20, 30, 50, 10, 8])
async def test_the_sustained_pace_is_at_least_0_97_of_the_rate(rate: int) -> None:
    fake = FakeTime()
    times = await departures(pacer(rate, fake), fake, rate * 20)
    assert pace(times) >= 0.97 * rate


async def test_a_late_wake_up_sends_no_burst_after_it() -> None:
    fake = FakeTime()
    limiter = pacer(20, fake)
    times = await departures(limiter, fake, 30)
    fake.late = 0.4  # one wake-up 400 ms late
    times += await departures(limiter, fake, 1)
    fake.late = 0.0
    times += await departures(limiter, fake, 200)
    assert peak(times) == 20
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= 0.75 * 1.02 / 20 - 1e-9  # the ones after it never leave together


async def test_late_wake_ups_every_time_still_keep_the_pace() -> None:
    # Each sleep returns 2 ms late: the time lost is won back within the second, not for good.
    fake = FakeTime(late=0.002)
    times = await departures(pacer(50, fake), fake, 1000)
    assert peak(times) <= 50
    assert pace(times) >= 0.97 * 50


async def test_a_new_pacer_leaves_room_for_a_run_that_kept_the_pace_until_now() -> None:
    # A sync right after a backfill, or a restarted process: the vendor still counts the last.
    fake = FakeTime()
    start = fake.now
    before = [start - 1.02 / 20 * k for k in reversed(range(40))]
    times = await departures(pacer(20, fake), fake, 40)
    assert peak(before + times) == 20
    assert times[0] - start == pytest.approx(1.02 / 20)  # one spacing, not a second's wait


def peak_since(times: list[float], since: float) -> int:
    """The most departures in any second that ends at a departure from `since` on."""
    return max(bisect_right(times, t) - bisect_left(times, t - 1.0) for t in times if t >= since)


async def test_set_rate_paces_the_next_departures() -> None:
    fake = FakeTime()
    limiter = pacer(20, fake)
    times = await departures(limiter, fake, 60)
    limiter.set_rate(10)
    lowered = await departures(limiter, fake, 100)
    assert peak_since(times + lowered, lowered[0]) <= 10
    assert pace(lowered) >= 0.97 * 10
    limiter.set_rate(20)
    raised = await departures(limiter, fake, 200)
    assert peak_since(lowered + raised, raised[0]) <= 20
    assert pace(raised) >= 0.97 * 20


async def test_set_rate_is_clamped_to_the_ceiling_and_above_zero() -> None:
    limiter = StrictPacer(8, ceiling=20)
    limiter.set_rate(500)
    assert (limiter.rate, limiter.ceiling) == (20, 20)
    limiter.set_rate(0)
    assert 0 < limiter.rate


async def test_a_rate_below_one_spaces_requests_over_several_seconds() -> None:
    fake = FakeTime()
    times = await departures(pacer(0.5, fake), fake, 5)
    assert min(b - a for a, b in pairwise(times)) >= 2.0


async def test_a_rate_below_one_sends_one_request_per_span_of_1_over_the_rate() -> None:
    fake = FakeTime()
    times = await departures(pacer(0.5, fake), fake, 5)
    gaps = [b - a for a, b in pairwise(times)]
    assert gaps == pytest.approx([2.0 * (1.0 + MARGIN_SECONDS)] * 4)


@pytest.mark.parametrize("rate", [0, -1, math.inf, math.nan])
def test_a_pacer_refuses_a_rate_that_is_not_finite_and_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="a pacer needs a finite positive rate"):
        StrictPacer(rate)


async def test_waiters_leave_in_the_order_they_came() -> None:
    fake = FakeTime()
    limiter = pacer(10, fake)
    order: list[int] = []

    async def one(n: int) -> None:
        async with limiter:
            order.append(n)

    await asyncio.gather(*(one(n) for n in range(40)))
    assert order == list(range(40))


# --- the twins' count --------------------------------------------------------------------


def test_the_twin_refuses_the_request_over_the_rate_within_one_second() -> None:
    now = [0.0]
    limiter = RateLimiter({"A": 10}, clock=lambda: now[0])
    answers = []
    for i in range(11):
        now[0] = i * 0.09  # eleven requests within 0.9 s
        answers.append(limiter.allow("A"))
    assert answers == [True] * 10 + [False]


def test_the_twin_counts_sliding_seconds_not_a_refilled_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter({"A": 10}, clock=lambda: now[0])
    for i in range(10):
        now[0] = 0.5 + i * 0.05  # ten between 0.5 and 0.95
        assert limiter.allow("A")
    now[0] = 1.2  # a bucket would have refilled a few tokens; the last second still holds ten
    assert not limiter.allow("A")
    now[0] = 1.5  # the one at 0.5 has left the second
    assert limiter.allow("A")
    assert limiter.allow("A", key="another caller")


def test_the_twin_follows_a_configured_rate_it_is_told_of() -> None:
    now = [0.0]
    limiter = RateLimiter({"A": 20}, clock=lambda: now[0])
    limiter.set_rate("A", 8)
    assert [limiter.allow("A") for _ in range(9)] == [True] * 8 + [False]


async def test_a_backfill_at_the_documented_rate_is_never_refused(
    pool: asyncpg.Pool, clock: Clock
) -> None:
    # The ZEGO twin at its documented 10/s on the real clock; the pipeline paces at 10/s too.
    sandbox = ZegoSandbox(credentials={ZEGO_APP_ID: ZEGO_SECRET}, clock=clock)
    sandbox.add_tasks(generate_zego_tasks(clock.now, count=1200, seed=4))
    async with sandbox.serve() as server:
        settings = fast_settings(zego_account(server.url, rate=10))
        report = await run(pool, settings, SyncRequest(), clock.now)
    assert report.outcome == "succeeded"
    outcomes = sandbox.requests.outcomes()
    assert str(RATE_LIMITED) not in outcomes
    assert outcomes["ok"] > 20  # enough requests to fill two seconds and more
