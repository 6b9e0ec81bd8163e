"""Loader throughput: our staged merge against a plain executemany upsert and a bare COPY."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from time import perf_counter
from typing import Any, TypeVar

import asyncpg

from benchmarks.database import checkpoint, scratch_pool, sql
from pipeline.db.loader import LoadCounts, Loader, SourceKey
from pipeline.model import Status, Task
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.record_tasks import RecordTasks

KEY = SourceKey("tencent", "bench", "DescribeRecordTask")
TASK_COLUMNS = (
    "vendor",
    "account",
    "api",
    "task_id",
    "kind",
    "domain",
    "app",
    "stream",
    "room_id",
    "status",
    "vendor_status",
    "start_time",
    "end_time",
    "raw",
    "first_seen_at",
    "last_seen_at",
)
DAYS_BACK, DAYS_AHEAD = 90, 7
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoaderConfig:
    """How many rows, in which windows and pages, and which share of them a reload changes."""

    rows: int = 200_000
    window_rows: int = 20_000
    page_rows: int = 100
    change_every: int = 10
    seed: int = 7


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed scenario: rows handed to the database and what the database did with them."""

    name: str
    rows: int
    seconds: float
    inserted: int | None = None
    changed: int | None = None
    history_rows: int | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def make_tasks(config: LoaderConfig, now: datetime) -> list[Task]:
    """`config.rows` synthetic record tasks, normalized as the pipeline would, by start time."""
    per_day = math.ceil(config.rows / (DAYS_BACK + DAYS_AHEAD))
    raws = generate_record_tasks(int(now.timestamp()), DAYS_BACK, DAYS_AHEAD, per_day, config.seed)
    source = RecordTasks()
    tasks = [source.normalize(raw, now) for raw in raws[: config.rows]]
    return [t for t in tasks if isinstance(t, Task)]


def with_changes(tasks: Sequence[Task], every: int) -> list[Task]:
    """`tasks` where every `every`-th one was stopped (or stopped a second later than it was)."""
    return [_stopped(t) if i % every == 0 else t for i, t in enumerate(tasks)]


def _stopped(task: Task) -> Task:
    stopped = int(task.raw.get("Stopped") or task.raw["StartTime"]) + 1
    return replace(task, status=Status.STOPPED, raw={**task.raw, "Stopped": stopped})


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _task_row(task: Task, seen_at: datetime) -> tuple:
    """A tasks row as the baselines send it, raw serialized the way the Loader does."""
    return (
        KEY.vendor,
        KEY.account,
        KEY.api,
        task.task_id,
        task.kind.value,
        task.domain,
        task.app,
        task.stream,
        task.room_id,
        task.status.value,
        task.vendor_status,
        task.start_time,
        task.end_time,
        json.dumps(task.raw, ensure_ascii=False),
        seen_at,
    )


async def load_with_loader(
    pool: asyncpg.Pool, tasks: Sequence[Task], seen_at: datetime, config: LoaderConfig
) -> LoadCounts:
    """Our Loader as the pipeline drives it: one window transaction, staged page by page."""
    loader, total = Loader(pool), LoadCounts()
    for window in _chunks(tasks, config.window_rows):
        async with loader.window(KEY) as load:
            for page in _chunks(window, config.page_rows):
                await load.add(page, (), seen_at)
            total.add(await load.finish(None, seen_at))
    return total


async def upsert_with_executemany(
    pool: asyncpg.Pool, tasks: Sequence[Task], seen_at: datetime, config: LoaderConfig
) -> None:
    """The plain baseline: executemany of a row-at-a-time upsert, one transaction per window."""
    async with pool.acquire() as conn:
        for window in _chunks(tasks, config.window_rows):
            async with conn.transaction():
                await conn.executemany(sql("upsert_task"), [_task_row(t, seen_at) for t in window])


async def copy_rows(
    pool: asyncpg.Pool, tasks: Sequence[Task], seen_at: datetime, config: LoaderConfig, table: str
) -> None:
    """COPY the tasks' rows into `table`, one COPY per window."""
    async with pool.acquire() as conn:
        for window in _chunks(tasks, config.window_rows):
            rows = [(*_task_row(t, seen_at), seen_at) for t in window]
            await conn.copy_records_to_table(table, records=rows, columns=TASK_COLUMNS)


# A step loads `tasks` seen at `seen_at` into the pool's database, maybe returning its counts.
Step = Callable[[asyncpg.Pool, Sequence[Task], datetime], Awaitable[LoadCounts | None]]
Scenario = tuple[str, Step, Sequence[Task], datetime]
# Scenarios run in order on one fresh database, after an optional setup statement.
Group = tuple[str | None, list[Scenario]]


@dataclass(frozen=True, slots=True)
class LoaderResult:
    """Every loader measurement of one benchmark run."""

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
    start = perf_counter()
    counts = await step(pool, tasks, seen_at)
    seconds = perf_counter() - start
    written = await pool.fetchval(sql("count_history")) - history
    if counts is None:
        return Measurement(name, len(tasks), seconds, history_rows=written)
    return Measurement(name, len(tasks), seconds, counts.inserted, counts.changed, written)


async def _on_scratch(
    url: str, template: str, scenarios: list[Scenario], setup: str | None
) -> list[Measurement]:
    """Run `scenarios` in order on one fresh clone of the template."""
    async with scratch_pool(url, template) as pool:
        if setup:
            await pool.execute(sql(setup))
        return [await _measure(pool, scenario) for scenario in scenarios]


def _groups(tasks: list[Task], config: LoaderConfig, now: datetime) -> list[Group]:
    """Scenario groups, each run on its own database after an optional setup statement."""
    changed = with_changes(tasks, config.change_every)
    same_at, changed_at = now + timedelta(minutes=10), now + timedelta(minutes=20)
    ours: Step = partial(load_with_loader, config=config)
    plain: Step = partial(upsert_with_executemany, config=config)
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
        (
            "create_copy_target",
            [
                ("copy_bare", partial(copy_rows, config=config, table="copy_target"), tasks, now),
            ],
        ),
        (None, [("copy_into_tasks", partial(copy_rows, config=config, table="tasks"), tasks, now)]),
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
