"""Writes a window's tasks batch by batch, leaving out the ones the database already holds.

Each read carries a hash of its content. At its first batch, a window reads the stored hash of
every task in its scope (the start times it lists) in one range scan; a re-read of unchanged
data is then settled in memory and sends nothing. Reads outside the scope, and second reads of
a task, are compared on the server by primary key. Reads of tasks new to the database go to
`stage_new`, inserted as they are when the window ends (no merge, no history to compute);
reads that change a stored task go to `stage_tasks`, for the window's merge. Both are written
while the window reads on. The stored tasks of the scope that no read named are what a complete
listing missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import xxhash

from pipeline.db.sqlfiles import query
from pipeline.model import Task
from pipeline.payloads import json_bytes
from pipeline.periods import Period

STAGE_COLUMNS = (
    "ord", "task_id", "kind", "domain", "app", "stream", "room_id", "status", "vendor_status",
    "start_time", "end_time", "raw", "seen_at", "content_hash",
)  # fmt: skip
TASK_COLUMNS = (
    "vendor", "account", "api", "task_id", "kind", "domain", "app", "stream", "room_id",
    "status", "vendor_status", "start_time", "end_time", "raw", "first_seen_at", "last_seen_at",
    "content_hash",
)  # fmt: skip

_SIGN = 1 << 63
_MISSING = object()  # not stored in the scope
_SEEN = object()  # stored in the scope and read once already


def content_hash(task: Task) -> int:
    """A signed 64-bit digest of everything the merge compares (a bigint column holds it)."""
    content = (
        task.kind, task.domain, task.app, task.stream, task.room_id, task.status,
        task.vendor_status, task.start_time, task.end_time, task.raw,
    )  # fmt: skip
    return (xxhash.xxh3_64_intdigest(json_bytes(content)) ^ _SIGN) - _SIGN


class Read(NamedTuple):
    """One task as a listing returned it, in read order."""

    ord: int
    task: Task
    seen_at: datetime
    content_hash: int


def _content(t: Task) -> tuple:
    """The task's columns from task_id to raw, as both COPYs send them."""
    return (
        t.task_id, t.kind.value, t.domain, t.app, t.stream, t.room_id, t.status.value,
        t.vendor_status, t.start_time, t.end_time, json_bytes(t.raw).decode(),
    )  # fmt: skip


def _stage_row(read: Read) -> tuple:
    return (read.ord, *_content(read.task), read.seen_at, read.content_hash)


def _latest(reads: list[Read]) -> list[Read]:
    """The last read of each task."""
    latest: dict[str, Read] = {}
    for read in reads:
        kept = latest.get(read.task.task_id)
        if kept is None or kept.ord < read.ord:
            latest[read.task.task_id] = read
    return list(latest.values())


class Stager:
    """Stages one window's reads of new tasks and those that change stored ones.

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
        self._ord = 0
        self._pending: list[Read] = []
        # Stored hash by task id (None: must be rewritten anyway), read once the first batch
        # tells how old a last_seen_at may be.
        self._known: dict[str, object] | None = None
        # Hashes of ids (not the ids: small even for a big window). Once a task is staged, its
        # later reads are too, to the same table; a task already inserted is compared again.
        self._staged: set[int] = set()
        self._new: set[int] = set()
        self._inserted: set[int] = set()
        self.inserted = 0
        self.staged_new = 0
        self.staged = 0
        self._writing: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def read(self) -> int:
        """Task rows added so far (every read, staged or not)."""
        return self._ord

    def add(self, tasks: Sequence[Task], seen_at: datetime) -> None:
        start, self._ord = self._ord, self._ord + len(tasks)
        self._pending += [
            Read(n, task, seen_at, content_hash(task)) for n, task in enumerate(tasks, start + 1)
        ]

    def unread(self) -> list[str]:
        """Ids of the tasks stored in the scope that no read named so far."""
        return [task_id for task_id, state in (self._known or {}).items() if state is not _SEEN]

    @property
    def writing(self) -> bool:
        """Whether a batch is still being written."""
        return self._writing is not None and not self._writing.done()

    async def flush(self) -> None:
        """Start staging the buffered reads; the server works on them while the caller reads on.

        The previous batch's write is finished first: a connection runs one statement at a time.
        """
        await self._wait()
        if self._pending:
            reads, self._pending = self._pending, []
            self._writing = asyncio.create_task(self._write(reads))
            await asyncio.sleep(0)  # let it send its first statement

    async def drain(self) -> None:
        """Write everything buffered and wait until the server has it."""
        await self._wait()
        if self._pending:
            reads, self._pending = self._pending, []
            await self._write(reads)

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

    async def _write(self, reads: list[Read]) -> None:
        """Stage the reads of new tasks, and those that change stored ones."""
        if self._known is None:
            self._known = await self._stored(min(r.seen_at for r in reads) - self._resolution)
        new, changed, unsettled = self._settle(reads)
        if unsettled:
            stale_before = max(r.seen_at for r in unsettled) - self._resolution
            differing = await self._differing(unsettled, stale_before)
            self._take_unsettled(unsettled, differing, new, changed)
        if new and self._scope is None:
            await self._insert(_latest(new))
        elif new:
            await self._copy("stage_new", new)
            self.staged_new += len(new)
        if changed:
            await self._copy("stage_tasks", changed)
            self.staged += len(changed)

    async def _stored(self, stale_before: datetime) -> dict[str, object]:
        if self._scope is None:
            row = await self._conn.fetchrow(query("stored_hashes_all"), *self._key, stale_before)
        else:
            scope = (self._scope.start, self._scope.end)
            row = await self._conn.fetchrow(
                query("stored_hashes_between"), *self._key, stale_before, *scope
            )
        return dict(zip(row["task_ids"] or (), row["hashes"] or (), strict=True))

    def _in_scope(self, task: Task) -> bool:
        scope = self._scope
        if scope is None:
            return True
        return task.start_time is not None and scope.start <= task.start_time < scope.end

    def _settle(self, reads: list[Read]) -> tuple[list[Read], list[Read], list[Read]]:
        """Sort reads into new, changed, and unsettled (to compare on the server)."""
        assert self._known is not None
        known = self._known
        new: list[Read] = []
        changed: list[Read] = []
        unsettled: list[Read] = []
        for read in reads:
            task_id = read.task.task_id
            if (stored := known.get(task_id, _MISSING)) is not _MISSING:
                known[task_id] = _SEEN  # listed: not to be marked deleted
            id_key = hash(task_id)  # a collision costs a comparison or a merged batch
            if id_key in self._staged:
                changed.append(read)
            elif id_key in self._inserted:
                unsettled.append(read)
            elif id_key in self._new:
                new.append(read)
            elif stored is _MISSING:
                if self._in_scope(read.task):
                    new.append(read)
                    self._new.add(id_key)
                else:
                    unsettled.append(read)
            elif stored is _SEEN:
                unsettled.append(read)
            elif stored != read.content_hash:
                changed.append(read)
                self._staged.add(id_key)
        return new, changed, unsettled

    async def _differing(self, reads: list[Read], stale_before: datetime) -> dict[int, bool]:
        rows = await self._conn.fetch(
            query("compare_stage_batch"),
            *self._key,
            [r.task.task_id for r in reads],
            [r.content_hash for r in reads],
            stale_before,
        )
        return {row["n"]: row["present"] for row in rows}

    def _take_unsettled(
        self, reads: list[Read], differing: dict[int, bool], new: list[Read], changed: list[Read]
    ) -> None:
        """Add the unsettled reads that change something; the server named them by position."""
        for n, read in enumerate(reads, 1):
            id_key = hash(read.task.task_id)
            if n in differing and id_key not in self._staged and id_key not in self._new:
                (self._staged if differing[n] else self._new).add(id_key)
        for read in reads:  # every read of a staged task: the latest one wins
            id_key = hash(read.task.task_id)
            if id_key in self._staged:
                changed.append(read)
            elif id_key in self._new:
                new.append(read)

    async def _insert(self, reads: list[Read]) -> None:
        """COPY new tasks straight into `tasks`, or stage them for the merge if one is taken.

        Only for a whole-source window, the one window of its source in a run: windows that
        share a source hold their new tasks until they commit, or two of them reading the same
        new task could each wait for the other.
        """
        key = self._key
        rows = ((*key, *_content(r.task), r.seen_at, r.seen_at, r.content_hash) for r in reads)
        copied = self._conn.copy_records_to_table("tasks", records=rows, columns=TASK_COLUMNS)
        if await self._first_to_store(copied) is None:
            self._move(reads, self._staged)
            await self._copy("stage_tasks", reads)
            self.staged += len(reads)
            return
        self._move(reads, self._inserted)
        self.inserted += len(reads)

    async def insert_new(self) -> None:
        """At the window's end: insert the staged new tasks, or stage them for the merge if one
        is taken."""
        if not self.staged_new:
            return
        status = await self._first_to_store(
            self._conn.execute(query("insert_stage_new"), *self._key)
        )
        if status is None:
            await self._conn.execute(query("merge_stage_new"))
            self.staged += self.staged_new
        else:
            self.inserted += int(status.rsplit(" ", 1)[-1])

    async def _first_to_store(self, write: Coroutine[Any, Any, str]) -> str | None:
        """`write`'s status, under a savepoint; None when another transaction stored (or is
        storing) one of its tasks first, and the savepoint undid it."""
        try:
            async with self._conn.transaction():
                return await write
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
            return None

    def _move(self, reads: list[Read], to: set[int]) -> None:
        """Note the reads' tasks as no longer new (one set each: a big window holds many)."""
        keys = {hash(r.task.task_id) for r in reads}
        self._new -= keys
        to |= keys

    async def _copy(self, table: str, reads: list[Read]) -> None:
        rows = map(_stage_row, reads)
        await self._conn.copy_records_to_table(table, records=rows, columns=STAGE_COLUMNS)
