"""Loader throughput: our staged merge against a plain executemany upsert and a bare COPY.

Besides the time, each scenario records where it went: for our Loader the staging (rows turned
into COPY records and copied into the temporary table) apart from the merge, and for every
scenario this process's CPU, the database backend's CPU and the WAL the server wrote.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from time import perf_counter, process_time
from typing import Any

import asyncpg

from benchmarks.database import checkpoint, scratch_pool, sql
from benchmarks.loader_data import (
    KEY,
    TASK_COLUMNS,
    LoaderConfig,
    chunks,
    make_tasks,
    task_row,
    with_changes,
)
from benchmarks.server_usage import ServerUsage, usage_mark, usage_since
from pipeline.db.loader import Loader
from pipeline.model import LoadCounts, Task
from pipeline.periods import Period


@dataclass(slots=True)
class StepOutcome:
    """What a step reports: the Loader's counts, and seconds per phase where it has phases."""

    counts: LoadCounts | None = None
    phases: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed scenario: rows handed to the database and what the database did with them."""

    name: str
    rows: int
    seconds: float
    client_cpu_seconds: float
    server: ServerUsage
    phases: dict[str, float]
    inserted: int | None = None
    changed: int | None = None
    history_rows: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


async def load_with_loader(
    pool: asyncpg.Pool, tasks: Sequence[Task], seen_at: datetime, config: LoaderConfig
) -> StepOutcome:
    """Our Loader as the pipeline drives it: one window transaction, staged page by page."""
    loader, outcome = Loader(pool), StepOutcome(LoadCounts(), {"stage": 0.0, "merge": 0.0})
    assert outcome.counts is not None
    for window, covers in windows_by_start(tasks, config.window_rows):
        async with loader.window(KEY, covers) as load:
            start = perf_counter()
            for page in chunks(window, config.page_rows):
                await load.add(page, (), seen_at)
            staged = perf_counter()
            outcome.counts.add(await load.finish(covers, seen_at))
            outcome.phases["stage"] += staged - start
            outcome.phases["merge"] += perf_counter() - staged
    return outcome


async def upsert_with_executemany(
    pool: asyncpg.Pool, tasks: Sequence[Task], seen_at: datetime, config: LoaderConfig
) -> StepOutcome:
    """The plain baseline: executemany of a row-at-a-time upsert, one transaction per window."""
    async with pool.acquire() as conn:
        for window in chunks(tasks, config.window_rows):
            async with conn.transaction():
                await conn.executemany(sql("upsert_task"), [task_row(t, seen_at) for t in window])
    return StepOutcome()


async def copy_rows(
    pool: asyncpg.Pool, tasks: Sequence[Task], seen_at: datetime, config: LoaderConfig, table: str
) -> StepOutcome:
    """COPY the tasks' rows into `table`, one COPY per window."""
    async with pool.acquire() as conn:
        for window in chunks(tasks, config.window_rows):
            rows = [(*task_row(t, seen_at), seen_at) for t in window]
            await conn.copy_records_to_table(table, records=rows, columns=TASK_COLUMNS)
    return StepOutcome()


def windows_by_start(tasks: Sequence[Task], size: int) -> list[tuple[Sequence[Task], Period]]:
    """About `size` tasks (sorted by start time) a window, with the start times each covers,
    cut where the start time changes, as a listing's windows would."""
    windows, first = [], 0
    while first < len(tasks):
        last = min(first + size, len(tasks))
        while last < len(tasks) and tasks[last].start_time == tasks[last - 1].start_time:
            last += 1
        start = tasks[first].start_time
        if last < len(tasks):
            end = tasks[last].start_time
        else:
            end = tasks[-1].start_time + timedelta(seconds=1)  # type: ignore[operator]
        assert start is not None and end is not None
        windows.append((tasks[first:last], Period(start, end)))
        first = last
    return windows


# A step loads `tasks` seen at `seen_at` into the pool's database.
Step = Callable[[asyncpg.Pool, Sequence[Task], datetime], Awaitable[StepOutcome]]
Scenario = tuple[str, Step, Sequence[Task], datetime]
# Scenarios run in order on one fresh database, after an optional setup statement.
Group = tuple[str | None, list[Scenario]]


@dataclass(frozen=True, slots=True)
class LoaderResult:
    """Every loader measurement of one benchmark run at one size."""

    config: LoaderConfig
    rows: int
    changed_rows: int
    measurements: list[Measurement]

    def ratios(self) -> dict[str, float]:
        """Our Loader's rows/s over each baseline's (above 1: ours is faster)."""
        rate = {m.name: m.rows_per_second for m in self.measurements}
        pairs = {
            "ours_vs_executemany_initial": ("loader_initial", "executemany_initial"),
            "ours_vs_executemany_reload": ("loader_reload_same", "executemany_reload_same"),
            "ours_vs_copy_bare": ("loader_initial", "copy_bare"),
            "ours_vs_copy_into_tasks": ("loader_initial", "copy_into_tasks"),
            "reload_same_vs_copy_bare": ("loader_reload_same", "copy_bare"),
        }
        return {k: rate[a] / rate[b] if rate[b] else 0.0 for k, (a, b) in pairs.items()}

    def as_dict(self) -> dict[str, Any]:
        measurements = [
            {**asdict(m), "rows_per_second": m.rows_per_second} for m in self.measurements
        ]
        return {
            "config": asdict(self.config),
            "rows": self.rows,
            "changed_rows": self.changed_rows,
            "measurements": measurements,
            "ratios": self.ratios(),
        }


async def _measure(pool: asyncpg.Pool, scenario: Scenario) -> Measurement:
    """Time one step on a freshly checkpointed database and count the history it wrote."""
    name, step, tasks, seen_at = scenario
    await checkpoint(pool)
    history = await pool.fetchval(sql("count_history"))
    server = await usage_mark(pool)
    cpu, start = process_time(), perf_counter()
    outcome = await step(pool, tasks, seen_at)
    seconds, cpu = perf_counter() - start, process_time() - cpu
    used = await usage_since(pool, server)
    written = await pool.fetchval(sql("count_history")) - history
    counts = outcome.counts
    return Measurement(
        name,
        len(tasks),
        seconds,
        cpu,
        used,
        outcome.phases,
        counts.inserted if counts else None,
        counts.changed if counts else None,
        written,
    )


async def _on_scratch(
    url: str, template: str, scenarios: list[Scenario], setup: str | None
) -> list[Measurement]:
    """Run `scenarios` in order on one fresh clone of the template, over one connection."""
    async with scratch_pool(url, template, size=1) as pool:
        if setup:
            await pool.execute(sql(setup))
        return [await _measure(pool, scenario) for scenario in scenarios]


def _groups(tasks: list[Task], config: LoaderConfig, now: datetime) -> list[Group]:
    """Scenario groups, each run on its own database after an optional setup statement."""
    changed = with_changes(tasks, config.change_every)
    same_at, changed_at = now + timedelta(minutes=10), now + timedelta(minutes=20)
    ours: Step = partial(load_with_loader, config=config)
    plain: Step = partial(upsert_with_executemany, config=config)
    bare: Step = partial(copy_rows, config=config, table="copy_target")
    keyed: Step = partial(copy_rows, config=config, table="tasks")
    return [
        (
            None,
            [
                ("loader_initial", ours, tasks, now),
                ("loader_reload_same", ours, tasks, same_at),
                ("loader_reload_changed", ours, changed, changed_at),
            ],
        ),
        (
            None,
            [
                ("executemany_initial", plain, tasks, now),
                ("executemany_reload_same", plain, tasks, same_at),
            ],
        ),
        ("create_copy_target", [("copy_bare", bare, tasks, now)]),
        (None, [("copy_into_tasks", keyed, tasks, now)]),
    ]


async def run_loader_benchmark(url: str, template: str, config: LoaderConfig) -> LoaderResult:
    """Every loader scenario, each group on a fresh clone of the migrated template."""
    now = datetime.now(UTC).replace(microsecond=0)
    tasks = make_tasks(config, now)
    measurements: list[Measurement] = []
    for setup, scenarios in _groups(tasks, config, now):
        measurements += await _on_scratch(url, template, scenarios, setup)
    changed_rows = len(range(0, len(tasks), config.change_every))
    return LoaderResult(config, len(tasks), changed_rows, measurements)
