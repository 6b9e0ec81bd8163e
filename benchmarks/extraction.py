"""Extraction rate: a real backfill against the Tencent sandbox at the documented 20 requests/s."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import SecretStr

from benchmarks.database import scratch_pool
from benchmarks.sandbox_process import (
    ACTION,
    SECRET_ID,
    SECRET_KEY,
    SandboxSpec,
    SandboxSummary,
    remote_sandbox,
)
from pipeline.commands import FAR_FUTURE
from pipeline.config import RetrySettings, Settings
from pipeline.periods import Period
from pipeline.plans import BackfillRequest
from pipeline.progress import SilentProgress
from pipeline.runner import RunReport, Selection, execute
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.record_tasks import RecordTasks

DOCUMENTED_RATE = RecordTasks().default_rate
RATE_LIMITED = "RequestLimitExceeded"


@dataclass(frozen=True, slots=True)
class ExtractionConfig:
    """The sandbox's data and limits; rate None means the documented rate on both sides."""

    days_back: int = 14
    days_ahead: int = 7
    per_day: int = 1_500
    page_size: int = 100
    rate: float | None = None
    seed: int = 5

    def spec(self) -> SandboxSpec:
        return SandboxSpec(
            self.days_back, self.days_ahead, self.per_day, self.page_size, self.rate, self.seed
        )


@dataclass(frozen=True, slots=True)
class ExtractionResult:
    """One backfill, timed from the pipeline's side and counted from the sandbox's log."""

    config: ExtractionConfig
    outcome: str
    target_rate: float
    wall_seconds: float
    cpu_seconds: float
    records: int
    retries: int
    sandbox: SandboxSummary
    started_at: float
    """Unix time the backfill started; with `ended_at`, places the sandbox's first and last
    requests inside the run."""
    ended_at: float

    @property
    def requests_per_second(self) -> float:
        return self.sandbox.requests / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def rate_ratio(self) -> float:
        return self.requests_per_second / self.target_rate

    @property
    def rate_limited(self) -> int:
        return self.sandbox.outcomes.get(RATE_LIMITED, 0)

    @property
    def request_span_rate(self) -> float:
        """Requests/s between the first and the last request, as the sandbox received them."""
        span = self.sandbox.last_at - self.sandbox.first_at
        return (self.sandbox.requests - 1) / span if span > 0 else 0.0

    @property
    def lead_seconds(self) -> float:
        """From the start of the backfill to its first request (planning, bookkeeping)."""
        return self.sandbox.first_at - self.started_at

    @property
    def tail_seconds(self) -> float:
        """From the last request to the end of the backfill (last merges, bookkeeping)."""
        return self.ended_at - self.sandbox.last_at

    @property
    def records_per_second(self) -> float:
        return self.records / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_seconds_per_1000_records(self) -> float:
        return 1000 * self.cpu_seconds / self.records if self.records else 0.0

    def as_dict(self) -> dict[str, Any]:
        derived = (
            "requests_per_second",
            "rate_ratio",
            "request_span_rate",
            "lead_seconds",
            "tail_seconds",
            "rate_limited",
            "records_per_second",
            "cpu_seconds_per_1000_records",
        )
        return {**asdict(self), **{name: getattr(self, name) for name in derived}}


def _settings(url: str, rate: float | None) -> Settings:
    """One account on the sandbox, syncing DescribeRecordTask only, with default retries."""
    account = TencentAccount(
        name="bench",
        vendor="tencent",
        secret_id=SECRET_ID,
        secret_key=SecretStr(SECRET_KEY),
        endpoint=url,
        apis=[ACTION],
        rate_limits={} if rate is None else {ACTION: rate},
    )
    return Settings(accounts=(account,), retry=RetrySettings())


async def _backfill(pool: asyncpg.Pool, settings: Settings, days_back: int) -> RunReport:
    # A day more than the sandbox holds: its clock started a moment before ours.
    since = datetime.now(UTC) - timedelta(days=days_back + 1)
    return await execute(
        settings=settings,
        pool=pool,
        command="backfill",
        arguments={"benchmark": True},
        request=BackfillRequest(Period(since, FAR_FUTURE), refetch=True),
        selection=Selection(),
        progress=SilentProgress(),
        clock=time.time,
    )


async def run_extraction_benchmark(
    url: str, template: str, config: ExtractionConfig
) -> ExtractionResult:
    """Backfill every task the sandbox holds; time it and read the sandbox's request log."""
    async with scratch_pool(url, template) as pool, remote_sandbox(config.spec()) as remote:
        settings = _settings(remote.url, config.rate)
        started_at, cpu, start = time.time(), time.process_time(), time.perf_counter()
        report = await _backfill(pool, settings, config.days_back)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        ended_at = time.time()
    assert remote.summary is not None
    sources = [r.as_dict() for r in report.sources]
    return ExtractionResult(
        config=config,
        outcome=report.outcome,
        target_rate=config.rate or DOCUMENTED_RATE,
        wall_seconds=wall,
        cpu_seconds=cpu,
        records=sum(s["tasks_seen"] for s in sources),
        retries=sum(s["retries"] for s in sources),
        sandbox=remote.summary,
        started_at=started_at,
        ended_at=ended_at,
    )
