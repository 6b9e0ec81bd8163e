"""Writes a window's tasks batch by batch, leaving out the ones the database already holds.

What each read needs is decided by the window's `pipeline.ledger.Ledger`; this module does its
I/O. At its first read, a window reads the stored hash of every task in its scope (the start
times it lists) in one range scan, and the ledger starts from it. The reads the ledger leaves
undecided (outside the scope, second reads of a task) are compared on the server by primary key.
Reads in the scope of tasks new to the database are COPYed straight into `tasks` (no merge, no
history to compute); reads that change a stored task go to `stage_tasks`, for the window's
merge, marked when they lie outside the scope (see `pipeline.db.merging`). All of it is written
while the window reads on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from operator import attrgetter

import asyncpg

from pipeline.db.sqlfiles import query
from pipeline.ledger import Batch, Ledger, Read, content_hash, latest
from pipeline.model import CONTENT_COLUMNS, READ_COLUMNS, TASK_COLUMNS, Task
from pipeline.payloads import json_bytes
from pipeline.periods import Period

__all__ = ["STAGE_COLUMNS", "Stager", "content_hash"]

STAGE_COLUMNS = ("ord", *READ_COLUMNS, "outside")

# The content columns but the last, raw, which is sent as JSON text.
assert CONTENT_COLUMNS[-1] == "raw"
_PLAIN = attrgetter(*CONTENT_COLUMNS[:-1])


def _content(t: Task) -> tuple:
    """The task's CONTENT_COLUMNS, as both COPYs send them."""
    return (*_PLAIN(t), json_bytes(t.raw).decode())


class Stager:
    """Writes one window's reads of new tasks and stages those that change stored ones.

    `scope` is the start-time range the window lists (None: the whole source).
    """

    def __init__(
        self,
        conn: asyncpg.Connection,
        key: tuple[str, str, str],
        scope: Period | None,
        resolution: timedelta,
    ) -> None:
        self._conn = conn
        self._key = key
        self._scope = scope
        self._resolution = resolution
        # Started once the first read tells how old a last_seen_at may be.
        self._ledger: Ledger | None = None
        self._writing: asyncio.Task[None] | None = None
        self.inserted = 0
        self.staged = 0
        self.staged_outside = 0

    @property
    def pending(self) -> int:
        return 0 if self._ledger is None else self._ledger.pending

    @property
    def read(self) -> int:
        """Task rows added so far (every read, staged or not)."""
        return 0 if self._ledger is None else self._ledger.read

    async def add(self, tasks: Sequence[Task], seen_at: datetime) -> None:
        """Buffer a page of reads (a re-read that matches the stored task buffers nothing)."""
        (await self._ledger_at(seen_at)).add(tasks, seen_at)

    async def unread(self, fetched_at: datetime) -> list[str]:
        """Ids of the tasks stored in the scope that no read named so far."""
        return (await self._ledger_at(fetched_at)).unread()

    @property
    def writing(self) -> bool:
        """Whether a batch is still being written."""
        return self._writing is not None and not self._writing.done()

    async def flush(self) -> None:
        """Start writing the buffered reads; the server works on them while the caller reads on.

        The previous batch's write is finished first: a connection runs one statement at a time.
        """
        await self._wait()
        if self.pending:
            assert self._ledger is not None
            self._writing = asyncio.create_task(self._write(self._ledger.decide()))
            await asyncio.sleep(0)  # let it send its first statement

    async def drain(self) -> None:
        """Write everything buffered and wait until the server has it."""
        await self._wait()
        if self.pending:
            assert self._ledger is not None
            await self._write(self._ledger.decide())

    async def close(self) -> None:
        """Stop a write still under way: the window failed and its transaction rolls back."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.cancel()
            await asyncio.wait([writing])
            if not writing.cancelled():
                writing.exception()  # retrieved: the window's own error is the one reported

    async def _wait(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            await writing

    async def _write(self, batch: Batch) -> None:
        """Insert the reads of new tasks; stage those that change stored ones."""
        assert self._ledger is not None
        if batch.undecided:
            stale_before = max(r.seen_at for r in batch.undecided) - self._resolution
            differing = await self._differing(batch.undecided, stale_before)
            self._ledger.decide_compared(batch, differing)
        if batch.new:
            await self._insert(latest(batch.new))
        if batch.changed:
            await self._copy(batch.changed, outside=False)
        if batch.outside:
            await self._copy(batch.outside, outside=True)

    async def _ledger_at(self, seen_at: datetime) -> Ledger:
        """The window's ledger, started from the scope's stored state when the window's first
        read (or its end) tells how old a last_seen_at may be."""
        if self._ledger is None:
            self._ledger = Ledger(self._scope, await self._stored(seen_at - self._resolution))
        return self._ledger

    async def _stored(self, stale_before: datetime) -> dict[str, int | None]:
        if self._scope is None:
            row = await self._conn.fetchrow(query("stored_hashes_all"), *self._key, stale_before)
        else:
            scope = (self._scope.start, self._scope.end)
            row = await self._conn.fetchrow(
                query("stored_hashes_between"), *self._key, stale_before, *scope
            )
        return dict(zip(row["task_ids"] or (), row["hashes"] or (), strict=True))

    async def _differing(self, reads: list[Read], stale_before: datetime) -> set[int]:
        rows = await self._conn.fetch(
            query("compare_stage_batch"),
            *self._key,
            [r.task.task_id for r in reads],
            [r.content_hash for r in reads],
            stale_before,
        )
        return {row["n"] for row in rows}

    async def _insert(self, reads: list[Read]) -> None:
        """COPY new tasks straight into `tasks`, or stage them for the merge if one is taken.

        The tasks lie in the window's scope, which no other window of the run lists; a read
        of one by a window outside its scope never holds it while waiting for another
        (`pipeline.db.merging`).
        """
        assert self._ledger is not None
        key = self._key
        rows = ((*key, *_content(r.task), r.seen_at, r.seen_at, r.content_hash) for r in reads)
        try:
            async with self._conn.transaction():
                await self._conn.copy_records_to_table("tasks", records=rows, columns=TASK_COLUMNS)
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
            # Another transaction stored one of them first: the merge compares them instead.
            self._ledger.note_staged(reads)
            await self._copy(reads, outside=False)
            return
        self._ledger.note_inserted(reads)
        self.inserted += len(reads)

    async def _copy(self, reads: list[Read], *, outside: bool) -> None:
        key = self._key
        rows = ((r.ord, *key, *_content(r.task), r.seen_at, r.content_hash, outside) for r in reads)
        await self._conn.copy_records_to_table("stage_tasks", records=rows, columns=STAGE_COLUMNS)
        if outside:
            self.staged_outside += len(reads)
        else:
            self.staged += len(reads)
