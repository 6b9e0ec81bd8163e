"""Scale: many small accounts, one config, split between 1, 2 and 4 worker processes by shard.

Every account has its own twin (in the one sandbox child); every worker is `pipeline backfill
--shard I/N` as a command, on one scratch database per round. At the documented limits, a round
can end no sooner than its slowest account's own minimum (its requests over its rate), whatever
the workers do: the ratio to it shows what the scheduling and the CPU cost. With every limit
raised, the CPU is the bound: records per second and CPU per 1,000 records as workers grow. A
no-change sync after the 1-worker backfill, and a worker with nothing to do (its floor), feed
the projection (`scale_projection`).
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.accounts import apis
from benchmarks.children import ProcessRun
from benchmarks.database import scratch_database, server_settings
from benchmarks.datasets import Sizes, kit_sizes
from benchmarks.extraction import WHOLE_REACH_DAYS
from benchmarks.memory import run_pipeline
from benchmarks.sandbox_process import RemoteFleet
from benchmarks.scale_accounts import (
    ScaleAccount,
    empty_shard,
    layout,
    raise_limits,
    write_scale_config,
)
from benchmarks.scale_projection import Projection
from benchmarks.scale_round import Bench, Round, run_round
from benchmarks.server_load import local_postmaster
from pipeline.config import DatabaseSettings

RAISED_RATE = 100_000.0
DEFAULT_POOL = DatabaseSettings().pool_size
CONNECTION_RESERVE = 10
"""Connections of the server left to others (psql, the benchmark's own) when workers share it."""
NOISE_CPU_SECONDS = 0.001
"""A per-account cost lost in the noise of the floor counts as this much."""


@dataclass(frozen=True, slots=True)
class ScaleConfig:
    """How many accounts of which size, how many workers, and what to project to."""

    accounts_per_api: int = 10
    workers: tuple[int, ...] = (1, 2, 4)
    sizes: Sizes = field(default_factory=lambda: kit_sizes("quick"))
    growth: float = 8.0
    """Each account holds `growth` times its API's size in `sizes`: with the kits' quick sizes
    x 8 the slowest account (ZEGO's, at 10/s) needs about 4 s of requests at its limits."""
    spread: float = 0.25
    raised_rate: float = RAISED_RATE
    schedule_minutes: float = 60.0
    cpu_budget: float = 0.5
    projected_accounts: tuple[int, ...] = (100, 1_000, 10_000, 50_000)
    apis: tuple[str, ...] = field(default_factory=apis)
    seed: int = 11
    round_timeout: float = 600.0
    """Workers still running after this long are stopped: a hung round is a finding, not a
    benchmark that never ends."""

    def accounts(self, now: int) -> list[ScaleAccount]:
        return layout(
            self.apis, self.accounts_per_api, self.sizes, self.growth, self.spread, self.seed, now
        )


@dataclass(frozen=True, slots=True)
class ScaleResult:
    """The floor, the rounds at documented and raised limits, the sync, and the projection."""

    config: ScaleConfig
    tasks: dict[str, int]
    floor: ProcessRun
    documented: list[Round]
    sync: Round
    raised: list[Round]
    max_connections: int

    def projection(self) -> Projection:
        backfill = min(self.documented, key=lambda r: len(r.workers))
        raised = min(self.raised, key=lambda r: len(r.workers))
        floor, accounts = self.floor.cpu_seconds, len(self.tasks)
        minimums = list(self.sync.minimum_seconds.values())
        sync_cpu = (self.sync.cpu_seconds - floor) / accounts
        return Projection(
            schedule_seconds=60 * self.config.schedule_minutes,
            cpu_budget=self.config.cpu_budget,
            floor_cpu_seconds=floor,
            sync_cpu_per_account=max(sync_cpu, NOISE_CPU_SECONDS),
            sync_records_per_account=self.sync.records / accounts,
            sync_minimum_max=max(minimums),
            sync_minimum_mean=sum(minimums) / accounts,
            backfill_records_per_account=backfill.records / accounts,
            cpu_per_1000_records=1000
            * (raised.cpu_seconds - len(raised.workers) * floor)
            / max(raised.records, 1),
            pool_size=DEFAULT_POOL,
            connection_reserve=CONNECTION_RESERVE,
            max_connections=self.max_connections,
            accounts=self.config.projected_accounts,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "tasks": self.tasks,
            "accounts": len(self.tasks),
            "floor": asdict(self.floor),
            "documented": [r.as_dict() for r in self.documented],
            "sync": self.sync.as_dict(),
            "raised": [r.as_dict() for r in self.raised],
            "max_connections": self.max_connections,
            "projection": self.projection().as_dict(),
        }


def worker_pool(max_connections: int, workers: int) -> int:
    """Each worker's `database.pool_size` so that `workers` of them fit the server at once."""
    return max(3, min(DEFAULT_POOL, (max_connections - CONNECTION_RESERVE) // workers))


def round_config(bench: Bench, mode: str, rate: float | None, workers: int) -> Path:
    """The config of a round of `workers`: every account, each worker's pool fitted."""
    path = bench.folder / f"{mode}-{workers}.yaml"
    pool = worker_pool(bench.max_connections, workers)
    return write_scale_config(path, bench.fleet, bench.accounts, rate, pool)


def common_args(config: Path) -> list[str]:
    return ["--config", str(config), "--log-format", "json", "--quiet"]


def backfill_args(config: Path) -> list[str]:
    """A backfill of everything the vendors still serve (the planner clamps to each reach)."""
    since = datetime.now(UTC) - timedelta(days=WHOLE_REACH_DAYS)
    return ["backfill", *common_args(config), "--since", since.isoformat()]


async def _floor(bench: Bench, config: Path) -> ProcessRun:
    """A worker whose shard owns no source: the interpreter, the config, the pool, the run."""
    idle = [*backfill_args(config), "--shard", str(empty_shard(bench.accounts))]
    async with scratch_database(bench.url, bench.template) as database:
        return await run_pipeline(idle, database, bench.folder / "floor.log")


async def _documented(bench: Bench, workers: tuple[int, ...]) -> tuple[list[Round], Round]:
    """The backfill rounds at the documented limits; after the first, a no-change sync."""
    rounds: list[Round] = []
    sync: Round | None = None
    for count in workers:
        config = round_config(bench, "documented", None, count)
        async with scratch_database(bench.url, bench.template) as database:
            rounds.append(
                await run_round(bench, backfill_args(config), count, database, "documented")
            )
            if sync is None:
                sync_args = ["sync", *common_args(config)]
                sync = await run_round(bench, sync_args, 1, database, "documented", check=False)
    assert sync is not None
    return rounds, sync


async def _raised(bench: Bench, workers: tuple[int, ...], rate: float) -> list[Round]:
    """The backfill rounds with every limit raised to `rate`, at the twins and in the config."""
    await raise_limits(bench.fleet, bench.accounts, rate)
    rounds = []
    for count in workers:
        config = round_config(bench, "raised", rate, count)
        async with scratch_database(bench.url, bench.template) as database:
            rounds.append(await run_round(bench, backfill_args(config), count, database, "raised"))
    return rounds


async def run_scale(
    url: str, template: str, fleet: RemoteFleet, config: ScaleConfig, now: int
) -> ScaleResult:
    """The floor, the rounds at the documented limits (and the sync after the first), then the
    rounds with every limit raised; each round on a fresh database."""
    accounts = config.accounts(now)
    tasks = {a.source: a.tasks() for a in accounts}
    connections = int((await server_settings(url))["max_connections"])
    with tempfile.TemporaryDirectory(prefix="pipeline-scale-") as scratch:
        postmaster = await local_postmaster(url)
        bench = Bench(
            url,
            template,
            fleet,
            accounts,
            tasks,
            Path(scratch),
            config.round_timeout,
            postmaster,
            connections,
        )
        floor = await _floor(bench, round_config(bench, "floor", None, 1))
        rounds, sync = await _documented(bench, config.workers)
        fast = await _raised(bench, config.workers, config.raised_rate)
    return ScaleResult(config, tasks, floor, rounds, sync, fast, connections)
