"""Loads normalized tasks: new ones inserted as they are, changed ones merged with history.

A window's tasks, its rejected records and its coverage row are written in one transaction,
so a window is either wholly in the database or not at all. (Its reads of tasks outside its
scope, which another window's coverage answers for, may be parked and merged when the source's
windows have ended: see `pipeline.db.merging`.) The loader knows nothing of vendors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from pipeline.db.merging import Merge
from pipeline.db.sqlfiles import query, rows_affected
from pipeline.db.staging import Stager
from pipeline.model import LoadCounts, Rejection, SourceKey, Task
from pipeline.periods import Period
from pipeline.records import MAX_REASON_CHARS, MAX_TASK_ID_CHARS, storable_raw, storable_text

# Unchanged rows are not rewritten on every read: last_seen_at moves at most this often.
LAST_SEEN_RESOLUTION = timedelta(hours=1)
BOUND_SLACK = timedelta(seconds=1)
# Reads per batch: a window holds up to two (one being written), so this bounds its memory.
STAGE_BATCH = 2500

REJECTED_COLUMNS = ("run_id", "vendor", "account", "api", "task_id", "reason", "raw", "rejected_at")


class WindowLoad:
    """One window's rows, staged inside an open transaction until `finish`."""

    def __init__(
        self, conn: asyncpg.Connection, key: SourceKey, scope: Period | None, run_id: UUID | None
    ) -> None:
        self._conn = conn
        self._key = key
        self._run_id = run_id
        source = (key.vendor, key.account, key.api)
        self._stager = Stager(conn, source, scope, LAST_SEEN_RESOLUTION)
        self._merge = Merge(conn, source, LAST_SEEN_RESOLUTION, run_id)
        # A rescanned list reads a bad record again: it is kept aside once per window.
        self._rejections: dict[tuple, tuple] = {}

    async def add(
        self, tasks: Sequence[Task], rejections: Sequence[Rejection], seen_at: datetime
    ) -> None:
        """Stage a page of tasks and keep its rejected records aside."""
        await self._stager.add(tasks, seen_at)
        for rejection in rejections:
            row = self._rejected_row(rejection, seen_at)
            self._rejections.setdefault(row[4:7], row)  # task id, reason, raw
        # Pages are small; one lookup and COPY per few thousand rows saves round trips.
        if self._stager.pending >= STAGE_BATCH:
            await self._stager.flush()
        elif self._stager.writing:
            await asyncio.sleep(0)  # let the batch being written move on

    async def finish(
        self, covers: Period | None, fetched_at: datetime, *, whole_account: bool = False
    ) -> LoadCounts:
        """Merge the staged rows into `tasks`; for a complete listing, record its coverage.

        `covers` is the start-time range the listing returned completely (`whole_account`: every
        task of the source). Tasks in it that the listing missed are marked deleted by the vendor.
        """
        await self._stager.drain()
        if self._rejections:
            await self._conn.copy_records_to_table(
                "rejected_records",
                records=list(self._rejections.values()),
                columns=REJECTED_COLUMNS,
            )
        stager = self._stager
        counts = LoadCounts(stager.read, stager.inserted, rejected=len(self._rejections))
        if stager.staged:
            counts.merged(*await self._merge.staged(outside=False))
        if whole_account:
            counts.deleted = await self._complete(None, None, fetched_at)
        elif covers is not None and not covers.empty:
            # A second inside each bound: the vendor's bound inclusivity is undocumented.
            inner = Period(covers.start + BOUND_SLACK, covers.end)
            counts.deleted = await self._complete(covers, inner, fetched_at)
        if stager.staged_outside:
            counts.merged(*await self._merge.outside_or_park())
        return counts

    async def _complete(
        self, covers: Period | None, checked: Period | None, fetched_at: datetime
    ) -> int:
        k = self._key
        lo, hi = (covers.start, covers.end) if covers else (None, None)
        await self._conn.execute(
            query("insert_coverage"), k.vendor, k.account, k.api, lo, hi, fetched_at, self._run_id
        )
        unlisted = await self._unlisted(fetched_at)
        if not unlisted:
            return 0
        lo, hi = (checked.start, checked.end) if checked else (None, None)
        status = await self._conn.execute(
            query("mark_unlisted"),
            k.vendor, k.account, k.api, lo, hi, fetched_at, self._run_id, unlisted,
        )  # fmt: skip
        return rows_affected(status)

    async def close(self) -> None:
        """Stop what is still being written (the window did not finish)."""
        await self._stager.close()

    async def _unlisted(self, fetched_at: datetime) -> list[str]:
        """The scope's stored tasks that the listing did not name (a rejected read names one)."""
        rejected = {row[4] for row in self._rejections.values()}
        unread = await self._stager.unread(fetched_at)
        return [task_id for task_id in unread if task_id not in rejected]

    def _rejected_row(self, r: Rejection, seen_at: datetime) -> tuple:
        k = self._key
        # Whatever a rejection holds, the COPY must take it: one bad record fails no window.
        task_id = storable_text(r.task_id, MAX_TASK_ID_CHARS)
        reason = storable_text(r.reason, MAX_REASON_CHARS)
        raw = storable_raw(r.raw)
        return (self._run_id, k.vendor, k.account, k.api, task_id, reason, raw, seen_at)


class Loader:
    """Opens one transaction per window on a pooled connection."""

    def __init__(self, pool: asyncpg.Pool, run_id: UUID | None = None) -> None:
        self._pool = pool
        self._run_id = run_id

    @asynccontextmanager
    async def window(
        self, key: SourceKey, scope: Period | None = None
    ) -> AsyncIterator[WindowLoad]:
        """A staged window: committed when the block ends normally, rolled back otherwise.

        `scope` is the range of start times the window lists (None: the whole source).
        """
        conn = await self._pool.acquire()
        failed = True
        try:
            async with conn.transaction():
                await conn.execute(query("create_stage_tasks"))
                load = WindowLoad(conn, key, scope, self._run_id)
                try:
                    yield load
                finally:
                    await load.close()
            failed = False
        finally:
            if failed:
                # Its transaction is over whichever way; a connection that failed mid-window
                # (its server gone, a statement cut short) is not reset for the next window.
                conn.terminate()
            await self._pool.release(conn)

    async def merge_parked(self, key: SourceKey) -> LoadCounts:
        """Merge the reads windows of the source parked (`pipeline.db.merging`): call it once
        no window of the source is open."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(query("create_stage_tasks"))
            source = (key.vendor, key.account, key.api)
            merge = Merge(conn, source, LAST_SEEN_RESOLUTION, self._run_id)
            counts = LoadCounts()
            counts.merged(*await merge.parked())
            return counts

    async def load(
        self, key: SourceKey, tasks: Sequence[Task], seen_at: datetime, covers: Period | None = None
    ) -> LoadCounts:
        """Load one batch of tasks as a single window."""
        async with self.window(key, covers) as window:
            await window.add(tasks, (), seen_at)
            return await window.finish(covers, seen_at)
