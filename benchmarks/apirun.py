"""One run of the pipeline for one vendor API, timed on our side and counted on the twin's."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from benchmarks.accounts import account, documented_rate, rate_limited, settings, vendor_of
from benchmarks.sandbox_process import RemoteFleet
from pipeline.commands import FAR_FUTURE
from pipeline.periods import Period
from pipeline.planning.sources import BackfillRequest, Request, SyncRequest
from pipeline.progress import SilentProgress
from pipeline.runner import Selection, execute

SETTLE_SECONDS = 1.1


@dataclass(frozen=True, slots=True)
class ApiRun:
    """A backfill or sync of one API: the pipeline's wall and CPU time, the twin's request log."""

    api: str
    command: str
    outcome: str
    target_rate: float
    windows: int
    records: int
    """Task records loaded (a task read by two overlapping windows counts twice)."""
    changed: int
    retries: int
    requests: int
    """Requests the twin received for `api` during the run (helper APIs not counted)."""
    outcomes: dict[str, int]
    rate_limited: int
    peak_per_second: int
    """The most requests for `api` the twin received in any sliding second."""
    started_at: float
    ended_at: float
    first_at: float
    last_at: float
    wall_seconds: float
    cpu_seconds: float
    """The pipeline's: CPU time of this process during the run (the twins run in a child)."""
    sandbox_cpu_seconds: float
    error: str | None = None

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def rate_ratio(self) -> float:
        return self.requests_per_second / self.target_rate

    @property
    def span_rate(self) -> float:
        """Requests/s between the first and the last request, as the twin received them."""
        span = self.last_at - self.first_at
        return (self.requests - 1) / span if span > 0 else 0.0

    @property
    def span_ratio(self) -> float:
        return self.span_rate / self.target_rate

    @property
    def lead_seconds(self) -> float:
        """From the start of the run to its first request (planning, bookkeeping)."""
        return self.first_at - self.started_at if self.requests else 0.0

    @property
    def tail_seconds(self) -> float:
        """From the last request to the end of the run (the last merges, bookkeeping)."""
        return self.ended_at - self.last_at if self.requests else 0.0

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
            "span_rate",
            "span_ratio",
            "lead_seconds",
            "tail_seconds",
            "records_per_second",
            "cpu_seconds_per_1000_records",
        )
        return {**asdict(self), **{name: getattr(self, name) for name in derived}}


def peak_in_any_second(times: list[float]) -> int:
    """The most of `times` (seconds) that fall in any half-open second [t, t + 1)."""
    ordered, peak, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def backfill_since(now: float, days_back: float) -> BackfillRequest:
    """Everything starting from `days_back` days before `now` on, fetched even if complete."""
    since = datetime.fromtimestamp(now, UTC) - timedelta(days=days_back)
    return BackfillRequest(Period(since, FAR_FUTURE), refetch=True)


async def measure_run(
    fleet: RemoteFleet,
    group: str,
    pool: asyncpg.Pool,
    api: str,
    request: Request,
    rate: float | None = None,
) -> ApiRun:
    """Run `request` for `api` against the twin of `group`; `rate` None: the documented rate."""
    vendor = vendor_of(api)
    if rate is None or rate <= documented_rate(api):
        # A fresh run's pacer knows nothing of the last run's requests: let them leave the
        # twin's sliding second first, as minutes do between scheduled runs.
        await asyncio.sleep(SETTLE_SECONDS)
    before, sandbox_cpu = await fleet.mark(group, vendor)
    config = settings(account(api, fleet.url(group, vendor), rate))
    command = "sync" if isinstance(request, SyncRequest) else "backfill"
    started_at, cpu, start = time.time(), time.process_time(), time.perf_counter()
    report = await execute(
        settings=config,
        pool=pool,
        command=command,
        arguments={"benchmark": api},
        request=request,
        selection=Selection(),
        progress=SilentProgress(),
        clock=time.time,
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    ended_at = time.time()
    after, _, sandbox_after = await fleet.hits(group, vendor, before)
    hits = [h for h in after if h.action == api]
    outcomes = Counter(h.outcome for h in hits)
    [source] = report.sources
    return ApiRun(
        api=api,
        command=command,
        outcome=report.outcome,
        target_rate=rate or documented_rate(api),
        windows=source.windows_planned,
        records=source.counts.seen,
        changed=source.counts.changed,
        retries=source.retries,
        requests=len(hits),
        outcomes=dict(outcomes),
        rate_limited=outcomes.get(rate_limited(vendor), 0),
        peak_per_second=peak_in_any_second([h.at for h in hits]),
        started_at=started_at,
        ended_at=ended_at,
        first_at=hits[0].at if hits else 0.0,
        last_at=hits[-1].at if hits else 0.0,
        wall_seconds=wall,
        cpu_seconds=cpu,
        sandbox_cpu_seconds=sandbox_after - sandbox_cpu,
        error=f"{source.error_code}: {source.error_message}" if source.error_code else None,
    )
