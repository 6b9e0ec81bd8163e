"""Pressure: the pace under a shared quota and through stalls (issue 15, parts 3 and 4).

Only with `python -m benchmarks --pressure` (a full run leaves it out). Each scenario backfills
Tencent's `DescribeRecordTask` at its documented 20/s from a twin served in this process (the
vendor's rate bounds these runs, not the CPU):

- **shared quota**: another client of the same sub-account spends 30% of the budget for the
  whole backfill. Goals: at most 2% of our requests rate-limited, at least 0.90 of the remaining
  budget (14/s) used, every task stored.
- **stalls**: 10% of answers faulty (5xx, internal errors, dropped connections, truncated bodies,
  answers held 40 s against a 30 s timeout; no rate-limit faults, the other scenario's subject).
  Goal: at least 0.85 of the documented rate over the whole backfill, the hedges counted.
"""

from __future__ import annotations

import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from benchmarks.accounts import account, settings, twin_credentials
from benchmarks.apirun import backfill_since
from benchmarks.database import scratch_pool
from pipeline.config import HttpSettings
from pipeline.progress import SilentProgress
from pipeline.runner import Selection, execute
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.rivals import OtherClient
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.record_tasks import RULES
from pipeline.vendors.tencent.sandbox import TencentSandbox

API = "DescribeRecordTask"
RATE = 20.0
SHARE = 0.3
FAULTS = (
    FaultKind.HTTP_5XX,
    FaultKind.INTERNAL_ERROR,
    FaultKind.RESET,
    FaultKind.TRUNCATED,
    FaultKind.SLOW,
)


@dataclass(frozen=True, slots=True)
class PressureConfig:
    """The account's size and the stalls' length."""

    per_day: int = 300
    """Record tasks a day over 97 days: about 300 pages of 100 (15 s at 20/s)."""
    days_back: int = 90
    fault_rate: float = 0.1
    stall_seconds: float = 40.0
    timeout_seconds: float = 30.0


QUICK_PRESSURE = PressureConfig(per_day=30, days_back=3, stall_seconds=4.0, timeout_seconds=3.0)


@dataclass(frozen=True, slots=True)
class PressureRun:
    """One backfill under pressure, as the pipeline reported it and the twin received it."""

    scenario: str
    outcome: str
    exact: bool
    """Every task the vendor can serve was stored."""
    wall_seconds: float
    requests: int
    ok: int
    rate_limited: int
    stalled: int
    hedges: int
    retries: int
    budget: float
    """Requests/s left to us: the documented rate less what the other client spends."""
    lowest_pace: float | None
    final_pace: float | None

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def of_limit(self) -> float:
        return self.requests_per_second / RATE

    @property
    def of_budget(self) -> float:
        return self.ok_per_second / self.budget

    @property
    def rate_limited_share(self) -> float:
        return self.rate_limited / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        derived = (
            "ok_per_second",
            "of_budget",
            "requests_per_second",
            "of_limit",
            "rate_limited_share",
        )
        return {**asdict(self), **{name: getattr(self, name) for name in derived}}


async def run_pressure(url: str, template: str, config: PressureConfig) -> list[dict[str, Any]]:
    """Both scenarios, each on a fresh database and twin."""
    runs = []
    for scenario in ("shared_quota", "stalls"):
        async with scratch_pool(url, template) as pool:
            runs.append((await _scenario(pool, scenario, config)).as_dict())
    return runs


async def _scenario(pool: asyncpg.Pool, scenario: str, config: PressureConfig) -> PressureRun:
    now = int(time.time())
    stalls = scenario == "stalls"
    faults = FaultPlan.random(
        config.fault_rate, FAULTS, seed=15, action=API, slow_seconds=config.stall_seconds
    )
    twin = TencentSandbox(
        credentials=twin_credentials()["tencent"], faults=faults if stalls else None
    )
    twin.add_record_tasks(
        generate_record_tasks(now, days_back=config.days_back, per_day=config.per_day)
    )
    async with twin.serve() as server:
        configured = account(API, server.url)
        http = HttpSettings(timeout_seconds=config.timeout_seconds)
        options = settings(configured).model_copy(update={"http": http})
        share = 0.0 if stalls else SHARE
        start = time.perf_counter()
        async with AsyncExitStack() as stack:
            if share:
                budget = (
                    next(iter(twin_credentials()["tencent"])),
                    "ap-guangzhou",
                )  # Tencent's scope
                await stack.enter_async_context(OtherClient(twin, API, budget, share))
            report = await execute(
                settings=options, pool=pool, command="backfill",
                arguments={"benchmark": scenario}, request=backfill_since(now, 91),
                selection=Selection(), progress=SilentProgress(), clock=time.time,
            )  # fmt: skip
        wall = time.perf_counter() - start
    [source] = report.sources
    outcomes = Counter(r.outcome for r in twin.requests.of(API))
    oldest = now - RULES.reach_back.total_seconds()
    reachable = sum(1 for t in twin.record_tasks.values() if t["StartTime"] >= oldest)
    stored = await pool.fetchval("SELECT count(*) FROM tasks")
    return PressureRun(
        scenario=scenario,
        outcome=report.outcome,
        exact=stored == reachable,
        wall_seconds=wall,
        requests=sum(outcomes.values()),
        ok=outcomes["ok"],
        rate_limited=outcomes["RequestLimitExceeded"],
        stalled=outcomes[str(FaultKind.SLOW)],
        hedges=source.hedges,
        retries=source.retries,
        budget=RATE * (1 - share),
        lowest_pace=source.lowest_pace,
        final_pace=source.pace,
    )


def render_pressure(runs: list[dict[str, Any]]) -> str:
    """The pressure scenarios as a Markdown table."""
    lines = [
        "| scenario | requests | requests/s | of the limit | ok/s | of the budget "
        "| rate-limited | stalled | hedges | lowest pace | exact |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in runs:
        lowest = "-" if r["lowest_pace"] is None else f"{r['lowest_pace']:.1f}"
        lines.append(
            f"| {r['scenario']} (budget {r['budget']:g}/s) | {r['requests']} "
            f"| {r['requests_per_second']:.2f} | {r['of_limit']:.3f} "
            f"| {r['ok_per_second']:.2f} | {r['of_budget']:.3f} "
            f"| {r['rate_limited']} ({r['rate_limited_share']:.1%}) | {r['stalled']} "
            f"| {r['hedges']} | {lowest} | {'yes' if r['exact'] else 'NO'} |"
        )
    return "\n".join(lines)
