"""Memory: the peak RSS of `pipeline backfill`, run as a command, for a small and a big account.

The pipeline runs in a child process of its own (`python -m pipeline backfill` through
`benchmarks.peak_rss`, a config file pointing at a twin in the sandbox child,
PIPELINE_DATABASE_URL at a scratch database), so its peak resident set (VmHWM) is its own:
neither the twin's tasks nor this process's memory count. A streaming pipeline's peak hardly
grows with the account; `pipeline migrate` on the same config gives the floor (the interpreter,
the imports, a connection).
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.accounts import vendor_of, write_config
from benchmarks.children import ProcessRun, log_tail, pipeline_env, spawn_pipeline, wait_for
from benchmarks.database import scratch_database
from benchmarks.datasets import Dataset
from benchmarks.sandbox_process import RemoteFleet

API = "DescribeRecordTask"
VENDOR = vendor_of(API)
RAISED_RATE = 100_000.0


@dataclass(frozen=True, slots=True)
class MemoryConfig:
    """Account sizes (record tasks over the 90 days Tencent serves and the week ahead)."""

    sizes: tuple[int, ...] = (100_000, 1_000_000)
    days_back: int = 89
    days_ahead: int = 7

    def dataset(self, now: int, size: int) -> Dataset:
        per_day = math.ceil(size / (self.days_back + self.days_ahead))
        days = {"days_back": self.days_back, "days_ahead": self.days_ahead}
        tasks = per_day * (self.days_back + self.days_ahead)
        return Dataset(now=now, sizes={API: {"tasks": tasks, **days}})


def group(size: int) -> str:
    """The sandbox child's name for the twin holding an account of `size` tasks."""
    return f"memory-{size}"


@dataclass(frozen=True, slots=True)
class MemoryRun:
    """A backfill of an account of `tasks` record tasks."""

    tasks: int
    records: int
    requests: int
    process: ProcessRun


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """The floor, then one backfill per account size."""

    config: MemoryConfig
    floor: ProcessRun
    runs: list[MemoryRun]

    def ratios(self) -> dict[str, float]:
        """The biggest account's peak over the smallest's, in all and above the floor."""
        small, big = self.runs[0].process.peak_rss_bytes, self.runs[-1].process.peak_rss_bytes
        floor = self.floor.peak_rss_bytes
        above = (big - floor) / (small - floor) if small > floor else math.nan
        return {"peak": big / small, "above_floor": above}

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratios": self.ratios()}


async def run_pipeline(args: list[str], database: str, log: Path) -> ProcessRun:
    """`python -m pipeline ARGS` on `database`; raises with its output's end if it failed."""
    child = spawn_pipeline(args, pipeline_env(database), log)
    run, _ = await asyncio.to_thread(wait_for, child)
    if run.exit_code != 0:
        tail = await asyncio.to_thread(log_tail, log)
        raise RuntimeError(f"{' '.join(args)} exited with {run.exit_code}:\n{tail}")
    return run


async def _count_tasks(database: str) -> int:
    conn = await asyncpg.connect(database)
    try:
        return await conn.fetchval("SELECT count(*) FROM pipeline.tasks")
    finally:
        await conn.close()


async def run_memory(
    url: str, template: str, fleet: RemoteFleet, config: MemoryConfig, now: int
) -> MemoryResult:
    """The floor, then a backfill of every account size, each on a fresh database."""
    runs: list[MemoryRun] = []
    floor: ProcessRun | None = None
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as scratch:
        folder = Path(scratch)
        for size in config.sizes:
            name = group(size)
            twin = fleet.url(name, VENDOR)
            path = write_config(folder / f"{name}.yaml", API, twin, RAISED_RATE)
            common = ["--config", str(path), "--log-format", "json"]
            since = datetime.fromtimestamp(now, UTC) - timedelta(days=config.days_back, hours=1)
            backfill = ["backfill", *common, "--quiet", "--since", since.isoformat(), "--api", API]
            async with scratch_database(url, template) as database:
                if floor is None:
                    floor = await run_pipeline(["migrate", *common], database, folder / "floor.log")
                before, _ = await fleet.mark(name, VENDOR)
                process = await run_pipeline(backfill, database, folder / f"{name}.log")
                requests = (await fleet.mark(name, VENDOR))[0] - before
                records = await _count_tasks(database)
            data = config.dataset(now, size)
            runs.append(MemoryRun(data.count(API), records, requests, process))
    assert floor is not None
    return MemoryResult(config, floor, runs)
