"""The adaptive pace: refusals lower it, quiet raises it, and a shared budget loses nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from uuid import uuid4

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from pipeline.adaptive import AdaptivePace, PaceRules
from pipeline.jobs import Job, SourceRunner
from pipeline.metrics import write_metrics
from pipeline.model import CallStats, SourceKey, SourceResult
from pipeline.progress import SilentProgress
from pipeline.retry import RetryPolicy
from pipeline.runner import RunReport
from pipeline.sandbox.rivals import OtherClient
from pipeline.transport import Transport
from pipeline.vendors.tencent.client import TencentClient
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.record_tasks import RecordTasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY, Clock, tencent_account
from tests.runs import backfill_all, reachable, stored_ids

# Explicit, so these tests pin the controller's arithmetic whatever the tuned defaults are.
RULES = PaceRules(decrease=0.9, fit=1.0, deepest=0.5, hold=1.0, quiet=5.0, step=0.05)


class FakePacer:
    """A `Pacer` that spaces requests evenly, a little under its rate (none of the strict
    limiter's arithmetic: what is under test here is who sets the rate)."""

    def __init__(self, ceiling: float) -> None:
        self.ceiling = ceiling
        self.rate = ceiling
        self._next = 0.0
        self._lock = asyncio.Lock()

    def set_rate(self, rate: float) -> None:
        self.rate = min(max(rate, 1e-9), self.ceiling)

    async def __aenter__(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(self._next - loop.time(), 0.0))
            self._next = loop.time() + 1.05 / self.rate

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


@pytest.fixture
def pace(clock: Clock) -> AdaptivePace:
    """A controller with the rules the numbers below are worked out for."""
    return AdaptivePace(FakePacer(20.0), clock, RULES, "DescribeRecordTask")


def sending(pace: AdaptivePace, clock: Clock, count: int, seconds: float = 1.0) -> None:
    """`count` requests leave evenly over the next `seconds`."""
    for _ in range(count):
        clock.now += seconds / count
        pace.sent()


def refusals(pace: AdaptivePace, count: int) -> None:
    for _ in range(count):
        pace.refused()


def test_a_refusal_cuts_the_pace_at_least_by_the_decrease(pace: AdaptivePace, clock: Clock) -> None:
    sending(pace, clock, 20)
    pace.refused()  # 19 of the last second's 20 admitted: the decrease cuts deeper
    assert pace.rate == pytest.approx(18.0)


def test_a_refusal_fits_the_pace_to_what_the_vendor_admitted_in_the_last_second(
    pace: AdaptivePace, clock: Clock
) -> None:
    sending(pace, clock, 20)
    refusals(pace, 6)  # another client took 6 of the second's 20
    assert pace.rate == pytest.approx(14.0)
    assert pace.lowest == pytest.approx(14.0)


def test_the_fit_leaves_headroom_under_what_was_admitted(clock: Clock) -> None:
    pace = AdaptivePace(FakePacer(20.0), clock, replace(RULES, fit=0.95))
    sending(pace, clock, 20)
    refusals(pace, 6)
    assert pace.rate == pytest.approx(14.0 * 0.95)


def test_only_what_was_admitted_in_the_last_second_counts(pace: AdaptivePace, clock: Clock) -> None:
    sending(pace, clock, 20)
    sending(pace, clock, 10, seconds=0.5)
    clock.now += 0.001  # the first 10 are over a second old now
    refusals(pace, 4)
    assert pace.rate == pytest.approx(16.0)


def test_refusals_within_the_hold_never_cut_by_the_decrease_again(
    pace: AdaptivePace, clock: Clock
) -> None:
    sending(pace, clock, 20)
    pace.refused()  # 18/s
    sending(pace, clock, 10, seconds=0.5)
    pace.refused()  # the same burst: 18 of the last 20 admitted, no new cut
    assert pace.rate == pytest.approx(18.0)
    sending(pace, clock, 18, seconds=1.0)
    pace.refused()  # a second later: a new signal
    assert pace.rate == pytest.approx(16.2)


def test_one_burst_never_cuts_below_the_deepest_share_of_its_pace(
    pace: AdaptivePace, clock: Clock
) -> None:
    sending(pace, clock, 20)
    refusals(pace, 20)  # another client's burst took the whole second
    assert pace.rate == pytest.approx(10.0)
    clock.now += 1
    pace.refused()  # nothing admitted in a second: the next burst halves again
    assert pace.rate == pytest.approx(5.0)


def test_refusals_stop_at_the_floor(pace: AdaptivePace, clock: Clock) -> None:
    for _ in range(30):
        clock.now += 1
        pace.refused()
    assert pace.rate == pace.floor == pytest.approx(1.0)  # 5% of 20/s is under 1/s
    big = AdaptivePace(FakePacer(100.0), clock, RULES)
    for _ in range(30):
        clock.now += 1
        big.refused()
    assert big.rate == pytest.approx(5.0)


def test_a_request_sent_exactly_a_second_ago_still_counts_as_admitted(
    pace: AdaptivePace, clock: Clock
) -> None:
    sending(pace, clock, 20, seconds=0.0)  # twenty at one instant
    clock.now += 1
    pace.refused()  # those twenty are one second old: still in the vendor's second
    assert pace.rate == pytest.approx(18.0)  # the decrease, not the deepest cut (10/s)


def test_a_pace_under_one_request_a_second_keeps_falling_to_its_floor(clock: Clock) -> None:
    rules = replace(RULES, floor=0.01, min_floor=0.1)  # a floor of 0.2/s for a 20/s ceiling
    pace = AdaptivePace(FakePacer(20.0), clock, rules)
    rates = []
    for _ in range(8):
        clock.now += 1
        pace.refused()  # nothing admitted: each burst halves the pace
        rates.append(pace.rate)
    assert rates == pytest.approx([10, 5, 2.5, 1.25, 0.625, 0.3125, 0.2, 0.2])


def test_a_ceiling_under_the_least_floor_is_its_own_floor(clock: Clock) -> None:
    pace = AdaptivePace(FakePacer(0.5), clock, RULES)
    assert pace.floor == 0.5
    clock.now += 1
    pace.refused()
    assert pace.rate == 0.5


def test_quiet_periods_raise_the_pace_step_by_step_up_to_the_ceiling(
    pace: AdaptivePace, clock: Clock
) -> None:
    pace.refused()  # nothing admitted: 10/s
    clock.now += 4
    pace.sent()
    assert pace.rate == pytest.approx(10.0)
    clock.now += 1
    pace.sent()
    assert pace.rate == pytest.approx(11.0)  # + 5% of the ceiling
    clock.now += 10  # two quiet periods without a request: both count
    pace.sent()
    assert pace.rate == pytest.approx(13.0)
    clock.now += 100
    pace.sent()
    assert pace.rate == 20.0


def test_a_refusal_restarts_the_quiet_period(pace: AdaptivePace, clock: Clock) -> None:
    pace.refused()
    clock.now += 4
    pace.refused()  # within a second of the cut? no: 4 s later, a second cut
    assert pace.rate == pytest.approx(5.0)
    clock.now += 4
    pace.sent()
    assert pace.rate == pytest.approx(5.0)  # only 4 s quiet
    clock.now += 1
    pace.sent()
    assert pace.rate == pytest.approx(6.0)


def test_each_change_is_logged_with_its_reason(pace: AdaptivePace, clock: Clock) -> None:
    with capture_logs() as logs:
        pace.refused()
        clock.now += 5
        pace.sent()
        pace.sent()  # no change, no line
    changes = [(e["reason"], e["rate"]) for e in logs if e["event"] == "pace.changed"]
    assert changes == [("rate_limited", 10.0), ("quiet", 11.0)]
    assert logs[0]["action"] == "DescribeRecordTask"
    assert logs[0]["ceiling"] == 20.0


def test_the_logged_pace_keeps_its_fraction(clock: Clock) -> None:
    pace = AdaptivePace(FakePacer(20.0), clock, replace(RULES, fit=0.9))
    sending(pace, clock, 20)
    with capture_logs() as logs:
        refusals(pace, 6)  # each refusal: 90% of what is still admitted, 19 down to 14
    changes = [e["rate"] for e in logs if e["event"] == "pace.changed"]
    assert changes == [17.1, 16.2, 15.3, 14.4, 13.5, 12.6]


# Low enough that even a loaded machine sends faster than the half the other client leaves.
CEILING = 20.0
# The default rules scaled down a hundredfold in time, so the test takes seconds.
FAST_RULES = PaceRules(decrease=0.7, hold=0.3, quiet=0.2, step=0.1)


@pytest.mark.parametrize("burst", [False, True], ids=["steady", "bursting"])
async def test_another_client_on_the_budget_lowers_the_pace_and_nothing_is_lost(
    pool: asyncpg.Pool, frozen_now: int, burst: bool
) -> None:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: frozen_now,
        rate_limits={"DescribeRecordTask": CEILING},
        page_size=100,
    )
    sandbox.add_record_tasks(generate_record_tasks(frozen_now, per_day=30, seed=5))
    source = RecordTasks()
    async with sandbox.serve() as server, aiohttp.ClientSession() as session:
        account = tencent_account(server.url, rate=CEILING)
        transport = Transport(
            session=session,
            client=TencentClient(account),
            api=source.api,
            limiter=FakePacer(CEILING),
            policy=RetryPolicy(attempts=50, initial_wait=0.001, max_wait=0.005),
            timeout=5,
            clock=lambda: frozen_now,
            pace_rules=FAST_RULES,
        )
        job = Job(SourceKey("tencent", account.name, source.api), source, transport)
        runner = SourceRunner(
            pool=pool, run_id=None, clock=lambda: frozen_now, concurrency=4,
            progress=SilentProgress(),
        )  # fmt: skip
        budget = (SECRET_ID, account.region)  # Tencent's scope: API, sub-account, region
        with capture_logs() as logs:
            async with OtherClient(sandbox, source.api, budget, share=0.5, burst=burst):
                shared = await runner.run(job, backfill_all(frozen_now))
            lowest = transport.stats.lowest_pace
            refused_while_shared = sandbox.requests.outcomes()["RequestLimitExceeded"]
            alone = await runner.run(job, backfill_all(frozen_now))
    assert (shared.outcome, alone.outcome) == ("succeeded", "succeeded")
    assert await stored_ids(pool) == reachable(sandbox, frozen_now)
    assert refused_while_shared > 0
    assert lowest is not None and lowest <= 0.7 * CEILING + 1e-9
    changes = [e for e in logs if e["event"] == "pace.changed"]
    assert {e["reason"] for e in changes} == {"rate_limited", "quiet"}
    # Alone on the budget again, the pace climbs back to the ceiling and stays there.
    assert transport.stats.pace == CEILING
    assert shared.lowest_pace == lowest and alone.pace == CEILING


def test_the_metrics_file_holds_each_sources_pace_and_hedges(tmp_path: Path) -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    adaptive = SourceResult(SourceKey("tencent", "main", "DescribeRecordTask"), started)
    adaptive.take_stats(CallStats(requests=50, hedges=3, pace=18.0, lowest_pace=9.8))
    fixed = SourceResult(SourceKey("zego", "main", "DescribeTasks"), started)
    path = tmp_path / "pipeline.prom"
    write_metrics(path, "sync", RunReport(uuid4(), "succeeded", [adaptive, fixed]), 0.0)
    samples = {
        (s.name, s.labels.get("api")): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }
    api = "DescribeRecordTask"
    assert samples[("pipeline_sync_hedged_requests", api)] == 3
    assert samples[("pipeline_sync_source_pace", api)] == 18.0
    assert samples[("pipeline_sync_source_pace_lowest", api)] == 9.8
    assert ("pipeline_sync_source_pace", "DescribeTasks") not in samples  # not adaptive
