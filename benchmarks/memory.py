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
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.accounts import vendor_of, write_config
from benchmarks.database import scratch_database
from benchmarks.datasets import Dataset
from benchmarks.sandbox_process import RemoteFleet

API = "DescribeRecordTask"
VENDOR = vendor_of(API)
ROOT = Path(__file__).resolve().parent.parent
RAISED_RATE = 100_000.0
LOG_TAIL = 2_000


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
class ProcessRun:
    """One `pipeline` command in a child process, as the kernel accounted for it."""

    command: str
    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int


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


def _spawn_and_wait(argv: list[str], env: dict[str, str], log: Path, peak: Path) -> ProcessRun:
    """Run `argv` with its output in `log`, its peak RSS written to `peak` (blocking)."""
    start = time.perf_counter()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        pid = os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)],
        )
    finally:
        os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return ProcessRun(
        command=" ".join(argv[4:6]),
        exit_code=code,
        wall_seconds=time.perf_counter() - start,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_bytes=int(peak.read_text("ascii")) if code == 0 else 0,
    )


async def run_pipeline(args: list[str], database: str, log: Path) -> ProcessRun:
    """`python -m pipeline ARGS` on `database`; raises with its output's end if it failed."""
    # The checkout first on the path, so the child finds `benchmarks` from any directory.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PIPELINE_DATABASE_URL": database, "PYTHONPATH": path}
    peak = log.with_suffix(".peak")
    argv = [sys.executable, "-m", "benchmarks.peak_rss", str(peak), "pipeline", *args]
    run = await asyncio.to_thread(_spawn_and_wait, argv, env, log, peak)
    if run.exit_code != 0:
        tail = (await asyncio.to_thread(log.read_text, "utf-8", errors="replace"))[-LOG_TAIL:]
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
