"""One round of the scale benchmark: N `pipeline` workers started at once, one shard each.

The round's wall time runs from the first worker's start to the last one's end; each worker's
CPU comes from the kernel. The twins count the requests each account needed, and the scratch
database tells which worker ran which source and what it read.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.accounts import rate_limited
from benchmarks.apirun import SETTLE_SECONDS
from benchmarks.children import ProcessRun
from benchmarks.sandbox_process import RemoteFleet
from benchmarks.scale_accounts import ScaleAccount
from benchmarks.scale_checks import SourceRow, problems_of, source_rows, stored_tasks
from benchmarks.scale_workers import exit_problems, run_workers, wait_all
from benchmarks.server_load import ServerLoad, watching
from pipeline.vendors import VENDORS


@dataclass(frozen=True, slots=True)
class WorkerRun:
    """One worker of a round: its process, and the sources its run recorded."""

    shard: str
    process: ProcessRun
    sources: list[str]
    records: int
    """Task records its sources read (the sum of their `tasks_seen`)."""

    @property
    def records_per_second(self) -> float:
        return self.records / self.process.wall_seconds


@dataclass(frozen=True, slots=True)
class Round:
    """N workers' round over every source, at the documented limits or raised ones."""

    command: str
    limits: str
    workers: list[WorkerRun]
    wall_seconds: float
    requests: dict[str, dict[str, int]]
    """Per source, the requests its twin received, per API (a helper API counted apart)."""
    minimum_seconds: dict[str, float]
    """Per source, its requests over its documented rates: the least time the vendor allows."""
    rate_limited: int
    stored: int
    twin_cpu_seconds: float
    server: ServerLoad
    problems: list[str]

    @property
    def records(self) -> int:
        return sum(worker.records for worker in self.workers)

    @property
    def cpu_seconds(self) -> float:
        return sum(worker.process.cpu_seconds for worker in self.workers)

    @property
    def slowest(self) -> tuple[str, float]:
        """The source whose own minimum is longest, and that minimum."""
        return max(self.minimum_seconds.items(), key=lambda item: item[1], default=("-", 0.0))

    def as_dict(self) -> dict[str, Any]:
        source, minimum = self.slowest
        workers = [asdict(w) | {"records_per_second": w.records_per_second} for w in self.workers]
        return asdict(self) | {
            "workers": workers,
            "records": self.records,
            "cpu_seconds": self.cpu_seconds,
            "records_per_second": self.records / self.wall_seconds,
            "cpu_seconds_per_1000_records": 1000 * self.cpu_seconds / max(self.records, 1),
            "slowest_source": source,
            "slowest_minimum_seconds": minimum,
            "wall_over_minimum": self.wall_seconds / minimum if minimum else None,
            "twin_cpu_share": self.twin_cpu_seconds / self.wall_seconds,
        }


async def _marks(fleet: RemoteFleet, accounts: Sequence[ScaleAccount]) -> tuple[list[int], float]:
    counts, cpu = [], 0.0
    for account in accounts:
        count, cpu = await fleet.mark(account.name, account.vendor)
        counts.append(count)
    return counts, cpu


async def _twin_counts(
    fleet: RemoteFleet, accounts: Sequence[ScaleAccount], marks: list[int]
) -> tuple[dict[str, dict[str, int]], int, float]:
    """Per source the requests per API since `marks`, the rate-limit answers, the twin CPU."""
    requests, limited, cpu = {}, 0, None
    for account, mark in zip(accounts, marks, strict=True):
        hits, _, now = await fleet.hits(account.name, account.vendor, mark)
        cpu = now if cpu is None else cpu
        requests[account.source] = dict(Counter(hit.action for hit in hits))
        refused = rate_limited(account.vendor)
        limited += sum(hit.outcome == refused for hit in hits)
    return requests, limited, cpu or 0.0


def minimum_seconds(account: ScaleAccount, requests: dict[str, int]) -> float:
    """The least time the vendor allows for `requests`: each API's count over its rate."""
    vendor = VENDORS[account.vendor]
    return max((n / vendor.default_rate(api) for api, n in requests.items()), default=0.0)


def worker_runs(
    ended: list[tuple[ProcessRun, float]], rows: list[SourceRow], count: int
) -> list[WorkerRun]:
    """Each worker with the sources its run recorded (a run with no shard is worker 0)."""
    workers = []
    for index, (process, _) in enumerate(ended):
        mine = [row for row in rows if (row.shard_index or 0) == index]
        shard = f"{index}/{count}" if count > 1 else "all"
        sources = sorted(row.source for row in mine)
        workers.append(WorkerRun(shard, process, sources, sum(row.tasks_seen for row in mine)))
    return workers


@dataclass(frozen=True, slots=True)
class Bench:
    """What every round of one scale run shares."""

    url: str
    template: str
    fleet: RemoteFleet
    accounts: list[ScaleAccount]
    tasks: dict[str, int]
    """Per source, the tasks a complete backfill stores from its twin."""
    folder: Path
    time_limit: float
    postmaster: int | None
    """The local server's postmaster, to read its CPU (None: not on this machine)."""
    max_connections: int
    """The server's: the workers of a round share it (`database.pool_size` fitted to it)."""


async def run_round(
    bench: Bench, args: list[str], count: int, database: str, limits: str, check: bool = True
) -> Round:
    """`pipeline ARGS` by `count` workers at once on `database`; `check`: every source's tasks
    must be stored after it (not after a sync, which may read only part of them)."""
    fleet, accounts = bench.fleet, bench.accounts
    await asyncio.sleep(SETTLE_SECONDS)  # the last round's requests leave the twins' second
    marks, twin_cpu = await _marks(fleet, accounts)
    async with watching(bench.url, database, bench.postmaster) as server:
        children = run_workers(args, count, database, bench.folder)
        ended, cut = await wait_all(children, bench.time_limit)
    wall = max(end for _, end in ended) - children[0].started
    requests, limited, twin_after = await _twin_counts(fleet, accounts, marks)
    rows = await source_rows(database, args[0])
    stored = await stored_tasks(database)
    expected = bench.tasks if check else None
    problems = exit_problems(children, ended, bench.time_limit if cut else None)
    return Round(
        command=args[0],
        limits=limits,
        workers=worker_runs(ended, rows, count),
        wall_seconds=wall,
        requests=requests,
        minimum_seconds={a.source: minimum_seconds(a, requests[a.source]) for a in accounts},
        rate_limited=limited,
        stored=sum(stored.values()),
        twin_cpu_seconds=twin_after - twin_cpu,
        server=server,
        problems=problems + problems_of(accounts, rows, stored, expected, count),
    )
