"""One source's part of a run: plan its windows, fetch them concurrently, load each whole."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from pipeline.db import coverage, runs
from pipeline.db.loader import LoadCounts, Loader, SourceKey
from pipeline.db.runs import SourceResult
from pipeline.errors import SourceError
from pipeline.model import Rejection, Task
from pipeline.periods import Period
from pipeline.planning import Plan, plan_backfill, plan_sync
from pipeline.progress import Progress
from pipeline.source import Record, Source
from pipeline.transport import Transport
from pipeline.windows import Window, WindowRules

log = structlog.get_logger(__name__)

# A window whose merge lost a deadlock or serialization race is fetched and loaded again.
_DB_RACES = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
_WINDOW_DB_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Fetch everything within reach that may have changed or was never fetched."""


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """Fetch the tasks starting in `period`, skipping what is already complete."""

    period: Period
    refetch: bool = False
    resume_from: datetime | None = None


Request = SyncRequest | BackfillRequest


@dataclass(frozen=True, slots=True)
class Job:
    """One account and API, ready to call."""

    key: SourceKey
    source: Source
    call: Transport


def plan_reach(rules: WindowRules, now: datetime) -> str:
    return rules.reach(now).start.isoformat()


def utc_now(clock: Callable[[], float]) -> datetime:
    return datetime.fromtimestamp(int(clock()), UTC)


class SourceRunner:
    """Runs jobs of one run: shared pool, loader, clock and progress display."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        run_id,
        clock: Callable[[], float],
        concurrency: int,
        progress: Progress,
    ) -> None:
        self._pool = pool
        self._loader = Loader(pool, run_id)
        self._run_id = run_id
        self._clock = clock
        self._concurrency = concurrency
        self._progress = progress

    async def run(self, job: Job, request: Request) -> SourceResult:
        """Plan, fetch and load one job; a failure ends this job only."""
        result = SourceResult(job.key, started_at=utc_now(self._clock))
        with structlog.contextvars.bound_contextvars(account=job.key.account, api=job.key.api):
            try:
                plan = await self._plan(job, request, result)
                result.windows_planned = len(plan.windows)
                self._progress.planned(job.key, len(plan.windows))
                await self._fetch_windows(job, plan.windows, result)
                result.outcome = "succeeded"
            except asyncio.CancelledError:
                result.outcome = "interrupted"
                raise
            except Exception as exc:
                self._fail(result, _first_error(exc))
            finally:
                result.ended_at = utc_now(self._clock)
                result.requests, result.retries = job.call.stats.requests, job.call.stats.retries
                self._progress.finished(job.key, result.outcome)
                log.info("source.finished", **result.as_dict())
                await self._save(result)
        return result

    async def _save(self, result: SourceResult) -> None:
        # Saved as soon as the source ends, so a run killed later still shows its finished parts.
        if self._run_id is not None:
            async with self._pool.acquire() as conn:
                await runs.save_source(conn, self._run_id, result)

    async def _plan(self, job: Job, request: Request, result: SourceResult) -> Plan:
        rules, key, now = job.source.rules, job.key, utc_now(self._clock)
        async with self._pool.acquire() as conn:
            settled = await coverage.settled_periods(conn, key, rules.settle_after)
            if isinstance(request, SyncRequest):
                plan = plan_sync(rules, now, settled, await coverage.first_covered(conn, key))
                gaps = await coverage.record_gaps(
                    conn,
                    key,
                    plan.unreachable,
                    self._run_id,
                    "fell out of the vendor's reach before a run fetched it",
                    now,
                )
                for gap in gaps:
                    log.warning("coverage.gap", period=str(gap), reason="out of the vendor's reach")
                    result.notes.append(f"gap recorded: tasks starting in {gap} are lost")
                return plan
            done = [] if request.refetch else settled
            if request.resume_from is not None and not request.refetch:
                done = done + await coverage.covered_since(conn, key, request.resume_from)
        plan = plan_backfill(rules, now, request.period, done)
        for period in plan.unreachable:
            log.warning("backfill.clamped", period=str(period), reach_starts=plan_reach(rules, now))
            result.notes.append(
                f"clamped: tasks starting in {period} are beyond the vendor's reach"
            )
        if plan.skipped:
            log.info("backfill.skipping_complete", periods=[str(p) for p in plan.skipped])
        return plan

    async def _fetch_windows(self, job: Job, windows: list[Window], result: SourceResult) -> None:
        slots = asyncio.Semaphore(self._concurrency)

        async def one(window: Window) -> None:
            async with slots:
                counts = await self._window_with_db_retries(job, window)
            result.counts.add(counts)
            result.windows_done += 1
            self._progress.window_done(job.key, counts, job.call.stats.requests)

        async with asyncio.TaskGroup() as group:
            for window in windows:
                group.create_task(one(window))

    async def _window_with_db_retries(self, job: Job, window: Window) -> LoadCounts:
        for attempt in range(1, _WINDOW_DB_ATTEMPTS + 1):
            try:
                return await self._window(job, window)
            except _DB_RACES as exc:
                if attempt == _WINDOW_DB_ATTEMPTS:
                    raise
                log.warning("window.db_race", error=type(exc).__name__, attempt=attempt)
        raise AssertionError("unreachable")

    async def _window(self, job: Job, window: Window) -> LoadCounts:
        fetched_at = utc_now(self._clock)
        async with self._loader.window(job.key) as load:
            async for records in job.source.fetch(job.call, window):
                seen_at = utc_now(self._clock)
                tasks, rejections = _normalize(job.source, records, seen_at)
                for rejection in rejections:
                    log.warning(
                        "record.rejected", task_id=rejection.task_id, reason=rejection.reason
                    )
                await load.add(tasks, rejections, seen_at)
            counts = await load.finish(window.covers, fetched_at)
        log.info(
            "window.loaded",
            query=str(window.query),
            covers=str(window.covers),
            seen=counts.seen,
            inserted=counts.inserted,
            changed=counts.changed,
            rejected=counts.rejected,
        )
        return counts

    def _fail(self, result: SourceResult, exc: BaseException) -> None:
        result.outcome = "failed"
        result.error_code = getattr(exc, "code", None) or type(exc).__name__
        result.error_message = str(getattr(exc, "message", None) or exc)
        if isinstance(exc, SourceError):
            log.error("source.failed", error_code=result.error_code, error=result.error_message)
        else:
            log.error("source.crashed", error_code=result.error_code, exc_info=exc)


def _normalize(
    source: Source, records: list[Record], seen_at: datetime
) -> tuple[list[Task], list[Rejection]]:
    tasks: list[Task] = []
    rejections: list[Rejection] = []
    for raw in records:
        item = source.normalize(raw, seen_at)
        (tasks if isinstance(item, Task) else rejections).append(item)  # type: ignore[arg-type]
    return tasks, rejections


def _first_error(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
