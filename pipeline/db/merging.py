"""Merges a window's staged reads into `tasks`, with one history row per real change.

Windows of one source list disjoint scopes, so two windows never write the same task in their
scopes; but a query may return tasks outside its scope (Tencent's windows overlap by a day),
which the window whose scope they lie in may be writing at the same moment. Waiting for that
window while holding this one's tasks could close a cycle of waits, so reads outside the scope
never wait long: they are merged last, under a short lock timeout, and if a task is held, they
are parked in `deferred_reads` instead and merged when the source's windows have all ended.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg

from pipeline.db.sqlfiles import query, rows_affected

# Well under PostgreSQL's deadlock_timeout (1 s by default): this side gives way first.
OUTSIDE_LOCK_TIMEOUT = "200ms"


class Merge:
    """The merges of one connection's staged reads: inside the scope, outside it, parked."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        key: tuple[str, str, str],
        resolution: timedelta,
        run_id: UUID | None,
    ) -> None:
        self._conn = conn
        self._key = key
        self._resolution = resolution
        self._run_id = run_id

    async def staged(self, *, outside: bool) -> tuple[int, int]:
        """Merge the staged reads inside (or outside) the scope: (inserted, changed)."""
        row = await self._conn.fetchrow(
            query("merge_stage_tasks"), self._resolution, self._run_id, *self._key, outside
        )
        return row["inserted"], row["changed"]

    async def outside_or_park(self) -> tuple[int, int]:
        """Merge the reads outside the scope, or park them if another window holds a task."""
        try:
            async with self._conn.transaction():
                swap = query("swap_lock_timeout")
                previous = await self._conn.fetchval(swap, OUTSIDE_LOCK_TIMEOUT)
                merged = await self._outside()
                await self._conn.fetchval(swap, previous)
                return merged
        except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError):
            await self._conn.execute(query("defer_outside"), *self._key)
            return 0, 0

    async def parked(self) -> tuple[int, int]:
        """Merge the source's parked reads (every window of the source has ended)."""
        status = await self._conn.execute(query("take_deferred"), *self._key)
        if rows_affected(status) == 0:
            return 0, 0
        return await self._outside()

    async def _outside(self) -> tuple[int, int]:
        # A task another transaction was storing is waited for first, by the insert: the
        # merge that follows then compares with it (a statement waiting for a row it cannot
        # see would update the row without the history of its change).
        status = await self._conn.execute(query("insert_stage_absent"), *self._key)
        inserted, changed = await self.staged(outside=True)
        return rows_affected(status) + inserted, changed
