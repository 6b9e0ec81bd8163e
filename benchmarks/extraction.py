"""Extraction: rate efficiency per API, the no-change sync after it, and the pipeline's ceiling.

Each API is backfilled on its own, from its own twin in the sandbox child: at the documented
rate (does the pipeline keep the vendor's limiter busy, and never go over it in any second?),
then synced with nothing changed (how many requests does it resend?). Some APIs are backfilled
again at a configured limit below the documented one, which their twin is told of. Then, on a
fresh database with every limit raised far above the vendors', each API is backfilled again
(how fast can the pipeline itself go, and at what CPU cost?).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg

from benchmarks.accounts import apis, documented_rate, kits, vendor_of
from benchmarks.apirun import ApiRun, backfill_since, measure_run
from benchmarks.database import scratch_pool
from benchmarks.datasets import Dataset, Sizes, kit_sizes
from benchmarks.incremental import IncrementalResult, incremental
from benchmarks.sandbox_process import RemoteFleet
from pipeline.planning.sources import SyncRequest

GROUP = "apis"
# Longer than any vendor's reach (the longest is 90 days): the planner clamps it, so the backfill
# covers all a sync could want and a sync after it reads only what may have changed.
WHOLE_REACH_DAYS = 91
RAISED_RATE = 100_000.0


def _configured() -> tuple[tuple[str, float], ...]:
    return tuple(
        (api, rate) for kit in kits().values() for api, rate in kit.bench_configured.items()
    )


@dataclass(frozen=True, slots=True)
class ExtractionConfig:
    """Which measurements to take, of which APIs, over how many tasks."""

    rate: bool = True
    incremental: bool = True
    ceiling: bool = True
    apis: tuple[str, ...] = field(default_factory=apis)
    configured: tuple[tuple[str, float], ...] = field(default_factory=_configured)
    """APIs backfilled again at a configured rate below the documented one (with `rate`)."""
    sizes: Sizes = field(default_factory=lambda: kit_sizes("full"))
    """Per API, the settings of its kit's `bench_tasks`: each kit's full sizes need 300
    requests at least per API."""
    raised_rate: float = RAISED_RATE

    def dataset(self, now: int) -> Dataset:
        return Dataset(now=now, sizes=self.sizes)


@dataclass(slots=True)
class ExtractionResult:
    """Every extraction measurement of one benchmark run."""

    config: ExtractionConfig
    data: Dataset
    rate: list[ApiRun] = field(default_factory=list)
    configured: list[ApiRun] = field(default_factory=list)
    incremental: list[IncrementalResult] = field(default_factory=list)
    ceiling: list[ApiRun] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "dataset": asdict(self.data),
            "tasks": {api: self.data.count(api) for api in self.data.sizes},
            "rate": [run.as_dict() for run in self.rate],
            "configured": [run.as_dict() for run in self.configured],
            "incremental": [item.as_dict() for item in self.incremental],
            "ceiling": [run.as_dict() for run in self.ceiling],
        }


async def _raise_limits(fleet: RemoteFleet, apis: tuple[str, ...], rate: float) -> None:
    for api in apis:
        await fleet.set_rate(GROUP, vendor_of(api), api, rate)


async def _configured_runs(
    fleet: RemoteFleet, pool: asyncpg.Pool, config: ExtractionConfig, data: Dataset
) -> list[ApiRun]:
    """Backfills at a configured limit below the documented one, the twin told of it too."""
    runs = []
    for api, rate in config.configured:
        if api not in config.apis:
            continue
        await fleet.set_rate(GROUP, vendor_of(api), api, rate)
        request = backfill_since(data.now, WHOLE_REACH_DAYS)
        runs.append(await measure_run(fleet, GROUP, pool, api, request, rate))
        await fleet.set_rate(GROUP, vendor_of(api), api, documented_rate(api))
    return runs


async def run_extraction(
    url: str, template: str, fleet: RemoteFleet, config: ExtractionConfig, data: Dataset
) -> ExtractionResult:
    """The selected measurements, in order: rate and incremental, then the ceiling."""
    result = ExtractionResult(config, data)
    if config.rate or config.incremental:
        # Without the rate measurement the backfill only prepares the sync: no need to wait.
        rate = None if config.rate else config.raised_rate
        if rate is not None:
            await _raise_limits(fleet, config.apis, rate)
        async with scratch_pool(url, template) as pool:
            for api in config.apis:
                request = backfill_since(data.now, WHOLE_REACH_DAYS)
                backfill = await measure_run(fleet, GROUP, pool, api, request, rate)
                if config.rate:
                    result.rate.append(backfill)
                if config.incremental:
                    sync = await measure_run(fleet, GROUP, pool, api, SyncRequest(), rate)
                    result.incremental.append(incremental(backfill, sync, data))
            if config.rate:
                result.configured = await _configured_runs(fleet, pool, config, data)
    if config.ceiling:
        await _raise_limits(fleet, config.apis, config.raised_rate)
        async with scratch_pool(url, template) as pool:
            for api in config.apis:
                request = backfill_since(data.now, WHOLE_REACH_DAYS)
                run = await measure_run(fleet, GROUP, pool, api, request, config.raised_rate)
                result.ceiling.append(run)
    return result
