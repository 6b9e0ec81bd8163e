"""One source's part of a run: plan its windows, fetch them concurrently, load each whole."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import structlog

from pipeline.config import ReadSettings
from pipeline.db import runs
from pipeline.db.loader import Loader, WindowLoad
from pipeline.db.locks import Holder, SourceLocks
from pipeline.errors import (
    ChainCut,
    DatabaseError,
    LockHeldTooLong,
    PartialListing,
    SourceError,
    VendorError,
    WindowCut,
    WindowDeadline,
)
from pipeline.model import LoadCounts, Rejection, SourceKey, SourceResult, Task
from pipeline.planning.sources import Request, plan_source
from pipeline.planning.windows import Window
from pipeline.progress import Progress
from pipeline.records import bounded
from pipeline.redaction import Redactor
from pipeline.source import Record, Source
from pipeline.transport import Transport

log = structlog.get_logger(__name__)
T = TypeVar("T")

# A window whose transaction lost a race or its connection is fetched and loaded again: its
# transaction rolled back whole, so nothing of it is in the database.
_DB_RETRYABLE = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
    OSError,
)
_WINDOW_DB_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Job:
    """One account and API, ready to call."""

    key: SourceKey
    source: Source
    call: Transport
    redactor: Redactor | None = None
    """Replaces the vendor's credentials in each record before anything else sees it (None:
    records as served, for tests of other things)."""


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
        stop: asyncio.Event | None = None,
        bounds: ReadSettings | None = None,
    ) -> None:
        self._pool = pool
        self._loader = Loader(pool, run_id)
        self._locks = SourceLocks(pool, run_id)
        self._run_id = run_id
        self._clock = clock
        self._concurrency = concurrency
        self._stop = stop or asyncio.Event()
        self._progress = progress
        self._bounds = bounds or ReadSettings()

    async def run(self, job: Job, request: Request) -> SourceResult:
        """Plan, fetch and load one job; a failure ends this job only."""
        result = SourceResult(job.key, started_at=utc_now(self._clock))
        with structlog.contextvars.bound_contextvars(account=job.key.account, api=job.key.api):
            try:
                async with self._locks.hold(job.key) as holder:
                    if holder is None:
                        await self._plan_and_fetch(job, request, result)
                    else:
                        self._skip(result, holder)
            except asyncio.CancelledError:
                result.outcome = "interrupted"
                raise
            except Exception as exc:
                self._fail(result, _first_error(exc))
            finally:
                result.ended_at = utc_now(self._clock)
                result.take_stats(job.call.stats)
                self._progress.finished(job.key, result.outcome)
                log.info("source.finished", **result.as_dict())
                await self._save(result)
        return result

    def _skip(self, result: SourceResult, holder: Holder) -> None:
        """Leave the source to the process holding it, unless it has held it too long."""
        limit = self._bounds.lock_held_max_seconds
        if holder.held_seconds > limit:
            raise LockHeldTooLong(
                f"another process has held this source for {holder.held_seconds / 60:.0f} "
                f"minutes ({holder}), longer than reads.lock_held_max_seconds ({limit:g} s): "
                "is a worker hung? Stop it to release the lock"
            )
        result.outcome = "skipped"
        result.notes.append(f"skipped: another process is loading this source ({holder})")
        log.warning("source.skipped", reason="another process holds its lock", holder=str(holder))

    async def _plan_and_fetch(self, job: Job, request: Request, result: SourceResult) -> None:
        async with self._pool.acquire() as conn:
            planned = await plan_source(
                conn, job.key, job.source.rules, request, utc_now(self._clock), self._run_id
            )
        result.notes += planned.notes
        windows = planned.plan.windows
        result.windows_planned = len(windows)
        self._progress.planned(job.key, len(windows))
        try:
            await self._fetch_windows(job, windows, result)
        finally:
            await self._merge_parked(job, result)
        if result.windows_done < len(windows):
            result.outcome = "interrupted"
            result.notes.append(
                f"stopped by a signal after {result.windows_done} of {len(windows)} windows; "
                "the next run fetches the rest"
            )
        else:
            result.outcome = "succeeded"

    async def _merge_parked(self, job: Job, result: SourceResult) -> None:
        """Merge what the windows parked for one another (even if one failed: the reads may be
        all that is left of its tasks); if that fails, the next run merges them."""
        try:
            result.counts.add(await self._loader.merge_parked(job.key))
        except _DB_RETRYABLE as exc:
            log.warning("parked.not_merged", error=type(exc).__name__)

    async def _save(self, result: SourceResult) -> None:
        # Saved as soon as the source ends, so a run killed later still shows its finished parts.
        if self._run_id is not None:
            async with self._pool.acquire() as conn:
                await runs.save_source(conn, self._run_id, result)

    async def _fetch_windows(self, job: Job, windows: list[Window], result: SourceResult) -> None:
        """Every window, a few at once; a cut window fails alone, the source after the rest."""
        slots = asyncio.Semaphore(self._concurrency)
        cut: list[WindowCut] = []

        async def one(window: Window) -> None:
            async with slots:
                if self._stop.is_set():
                    return  # stopped: finished windows stay committed
                try:
                    counts = await self._unless_stopped(self._window_with_db_retries(job, window))
                except WindowCut as exc:
                    log.error("window.cut", window=_where(window), error=str(exc))
                    cut.append(exc)
                    return
            if counts is None:
                return  # stopped mid-window: its transaction rolled back
            result.counts.add(counts)
            result.windows_done += 1
            self._progress.window_done(job.key, counts, job.call.stats.requests)

        async with asyncio.TaskGroup() as group:
            for window in windows:
                group.create_task(one(window))
        if cut:
            result.notes.append(f"{len(cut)} of {len(windows)} windows cut; the rest loaded")
            raise cut[0]

    async def _unless_stopped(self, work: Coroutine[Any, Any, T]) -> T | None:
        """The result of `work`, or None if a stop is asked for first (`work` is cancelled)."""
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        return None if task.cancelled() else task.result()

    async def _window_with_db_retries(self, job: Job, window: Window) -> LoadCounts:
        for attempt in range(1, _WINDOW_DB_ATTEMPTS + 1):
            try:
                return await self._window(job, window)
            except _DB_RETRYABLE as exc:
                where = _where(window)
                if attempt == _WINDOW_DB_ATTEMPTS:
                    raise DatabaseError(
                        f"window {where} not loaded after {attempt} attempts: "
                        f"{type(exc).__name__}: {exc}; the next run fetches it again"
                    ) from exc
                log.warning(
                    "window.db_retry", window=where, error=type(exc).__name__, attempt=attempt
                )
        raise AssertionError("unreachable")

    async def _window(self, job: Job, window: Window) -> LoadCounts:
        fetched_at = utc_now(self._clock)
        complete = True
        async with self._loader.window(job.key, window.covers) as load:
            try:
                await self._read_bounded(job, window, load)
            except PartialListing as exc:
                # Every record read is true; only the claim of completeness is withheld.
                complete = False
                log.warning("listing.partial", reason=str(exc))
            counts = await load.finish(
                window.covers if complete else None,
                fetched_at,
                whole_account=complete and window.whole_account,
            )
        log.info(
            "window.loaded",
            query=_where(window),
            covers=str(window.covers),
            complete=complete,
            seen=counts.seen,
            inserted=counts.inserted,
            changed=counts.changed,
            rejected=counts.rejected,
            deleted=counts.deleted,
        )
        return counts

    async def _read_bounded(self, job: Job, window: Window, load: WindowLoad) -> None:
        """Stage every page of `window`, within the window's page cap and deadline."""
        bounds, where = self._bounds, _where(window)
        try:
            async with (
                asyncio.timeout(bounds.window_deadline_seconds) as deadline,
                aclosing(job.source.fetch(job.call, window)) as pages,
            ):
                count = 0
                async for records in pages:
                    count += 1
                    if count > bounds.max_pages_per_window:
                        raise ChainCut(
                            f"window {where}: more than {bounds.max_pages_per_window} pages "
                            "(reads.max_pages_per_window)"
                        )
                    await self._stage(job, records, load)
        except TimeoutError:
            if not deadline.expired():
                raise
            raise WindowDeadline(
                f"window {where} not read within {bounds.window_deadline_seconds:g} s "
                "(reads.window_deadline_seconds)"
            ) from None

    async def _stage(self, job: Job, records: list[Record], load: WindowLoad) -> None:
        seen_at = utc_now(self._clock)
        tasks, rejections = _normalize(job.source, records, seen_at, job.redactor)
        for rejection in rejections:
            log.warning("record.rejected", task_id=rejection.task_id, reason=rejection.reason)
        await load.add(tasks, rejections, seen_at)

    def _fail(self, result: SourceResult, exc: BaseException) -> None:
        result.outcome = "failed"
        result.error_code = getattr(exc, "code", None) or type(exc).__name__
        result.error_message = _message(exc)
        if isinstance(exc, SourceError):
            log.error("source.failed", error_code=result.error_code, error=result.error_message)
        else:
            log.error("source.crashed", error_code=result.error_code, exc_info=exc)


def _message(exc: BaseException) -> str:
    """What went wrong, without the code a SourceError's text starts with (stored apart)."""
    if isinstance(exc, VendorError):
        return exc.message
    if isinstance(exc, SourceError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def _normalize(
    source: Source, records: list[Record], seen_at: datetime, redactor: Redactor | None = None
) -> tuple[list[Task], list[Rejection]]:
    tasks: list[Task] = []
    rejections: list[Rejection] = []
    for raw in records:
        item = raw if redactor is None else _redacted(raw, redactor)
        if not isinstance(item, Rejection):
            item = _normalize_one(source, item, seen_at)
        (tasks if isinstance(item, Task) else rejections).append(item)  # type: ignore[arg-type]
    return tasks, rejections


def _redacted(raw: Record, redactor: Redactor) -> Record | Rejection:
    """`raw` with its credentials replaced: the only form of it that is hashed, stored, logged
    or rejected; a rejection without its payload if the redactor cannot walk it."""
    try:
        return redactor.record(raw)
    except RecursionError:
        task_id = raw.get("TaskId") if isinstance(raw, dict) else None
        marker = {"unredactable": f"a {type(raw).__name__} nested too deeply; not kept"}
        named = redactor.text(task_id) if isinstance(task_id, str) else None
        return bounded(Rejection("nested too deeply to redact", marker, named), marker)


def _normalize_one(source: Source, raw: Record, seen_at: datetime) -> Task | Rejection:
    """One record as a task or a rejection; whatever happens, the rest of the page loads."""
    try:
        return bounded(source.normalize(raw, seen_at), raw)
    except RecursionError:
        return Rejection("nested too deeply to store", {"unstorable": repr(raw)[:10_000]})
    except Exception as exc:
        return Rejection(f"could not be normalized: {type(exc).__name__}: {exc}", raw)


def _where(window: Window) -> str:
    return str(window.query or "whole account")


def _first_error(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
