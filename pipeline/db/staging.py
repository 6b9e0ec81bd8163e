"""Writes a window's tasks batch by batch, leaving out the ones the database already holds.

Each read carries a hash of its content. At its first read, a window reads the stored hash of
every task in its scope (the start times it lists) in one range scan; a re-read of unchanged
data is then settled as it is added and sends nothing. Reads outside the scope, and second
reads of a task, are compared on the server by primary key. Reads in the scope of tasks new to the
database are COPYed straight into `tasks` (no merge, no history to compute); reads that change
a stored task go to `stage_tasks`, for the window's merge, marked when they lie outside the
scope (see `pipeline.db.merging`). All of it is written while the window reads on. The stored
tasks of the scope that no read named are what a complete listing missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import NamedTuple

import asyncpg
import xxhash

from pipeline.db.sqlfiles import query
from pipeline.model import Task
from pipeline.payloads import json_bytes
from pipeline.periods import Period

STAGE_COLUMNS = (
    "ord", "vendor", "account", "api", "task_id", "kind", "domain", "app", "stream", "room_id",
    "status", "vendor_status", "start_time", "end_time", "raw", "seen_at", "content_hash",
    "outside",
)  # fmt: skip
TASK_COLUMNS = (
    "vendor", "account", "api", "task_id", "kind", "domain", "app", "stream", "room_id",
    "status", "vendor_status", "start_time", "end_time", "raw", "first_seen_at", "last_seen_at",
    "content_hash",
)  # fmt: skip

_SIGN = 1 << 63
_MISSING = object()  # not stored in the scope
_SEEN = object()  # stored in the scope and read once already


# Everything the merge compares, as one tuple (attrgetter builds it without a Python frame).
_COMPARED = attrgetter(
    "kind", "domain", "app", "stream", "room_id", "status", "vendor_status", "start_time",
    "end_time", "raw",
)  # fmt: skip


def content_hash(task: Task) -> int:
    """A signed 64-bit digest of everything the merge compares (a bigint column holds it)."""
    return (xxhash.xxh3_64_intdigest(json_bytes(_COMPARED(task))) ^ _SIGN) - _SIGN


class Read(NamedTuple):
    """One task as a listing returned it, in read order."""

    ord: int
    task: Task
    seen_at: datetime
    content_hash: int


def _content(t: Task) -> tuple:
    """The task's columns from task_id to raw, as both COPYs send them."""
    return (
        t.task_id, t.kind, t.domain, t.app, t.stream, t.room_id, t.status,
        t.vendor_status, t.start_time, t.end_time, json_bytes(t.raw).decode(),
    )  # fmt: skip


def _latest(reads: list[Read]) -> list[Read]:
    """The last read of each task."""
    latest: dict[str, Read] = {}
    for read in reads:
        kept = latest.get(read.task.task_id)
        if kept is None or kept.ord < read.ord:
            latest[read.task.task_id] = read
    return list(latest.values())


@dataclass(slots=True)
class Batch:
    """Buffered reads, sorted by what writing them takes."""

    new: list[Read] = field(default_factory=list)
    changed: list[Read] = field(default_factory=list)
    outside: list[Read] = field(default_factory=list)
    unsettled: list[Read] = field(default_factory=list)  # to compare on the server


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
        self._ord = 0
        self._pending: list[Read] = []
        self._buffered: set[str] = set()  # ids of the pending reads
        # Stored hash by task id (None: must be rewritten anyway), read once the first read
        # tells how old a last_seen_at may be.
        self._known: dict[str, object] | None = None
        # Hashes of ids (not the ids: small even for a big window). Once a task is staged, its
        # later reads are too, to the same table; a task already inserted is compared again.
        self._staged: set[int] = set()
        self._outside: set[int] = set()
        self._inserted: set[int] = set()
        self.inserted = 0
        self.staged = 0
        self.staged_outside = 0
        self._writing: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def read(self) -> int:
        """Task rows added so far (every read, staged or not)."""
        return self._ord

    async def add(self, tasks: Sequence[Task], seen_at: datetime) -> None:
        """Buffer a page of reads. A re-read that matches the stored task settles here: it is
        noted as listed and buffers nothing."""
        known = await self._known_at(seen_at)
        start, self._ord = self._ord, self._ord + len(tasks)
        pending, buffered = self._pending, self._buffered
        for n, task in enumerate(tasks, start + 1):
            task_id, digest = task.task_id, content_hash(task)
            # An earlier read still buffered may differ: the latest read must win.
            if known.get(task_id) == digest and task_id not in buffered:
                known[task_id] = _SEEN
            else:
                pending.append(Read(n, task, seen_at, digest))
                buffered.add(task_id)

    async def unread(self, fetched_at: datetime) -> list[str]:
        """Ids of the tasks stored in the scope that no read named so far."""
        known = await self._known_at(fetched_at)
        return [task_id for task_id, state in known.items() if state is not _SEEN]

    @property
    def writing(self) -> bool:
        """Whether a batch is still being written."""
        return self._writing is not None and not self._writing.done()

    async def flush(self) -> None:
        """Start writing the buffered reads; the server works on them while the caller reads on.

        The previous batch's write is finished first: a connection runs one statement at a time.
        """
        await self._wait()
        if self._pending:
            batch = self._settle(self._take())
            self._writing = asyncio.create_task(self._write(batch))
            await asyncio.sleep(0)  # let it send its first statement

    async def drain(self) -> None:
        """Write everything buffered and wait until the server has it."""
        await self._wait()
        if self._pending:
            await self._write(self._settle(self._take()))

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

    def _take(self) -> list[Read]:
        reads, self._pending = self._pending, []
        self._buffered = set()
        return reads

    async def _write(self, batch: Batch) -> None:
        """Insert the reads of new tasks; stage those that change stored ones."""
        if batch.unsettled:
            stale_before = max(r.seen_at for r in batch.unsettled) - self._resolution
            differing = await self._differing(batch.unsettled, stale_before)
            self._take_unsettled(batch, differing)
        if batch.new:
            await self._insert(_latest(batch.new))
        if batch.changed:
            await self._copy(batch.changed, outside=False)
        if batch.outside:
            await self._copy(batch.outside, outside=True)

    async def _known_at(self, seen_at: datetime) -> dict[str, object]:
        """The scope's stored state, read once, when the window's first read (or its end)
        tells how old a last_seen_at may be."""
        if self._known is None:
            self._known = await self._stored(seen_at - self._resolution)
        return self._known

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

    def _settle(self, reads: list[Read]) -> Batch:
        """Sort buffered reads into new, changed, outside the scope, and unsettled."""
        assert self._known is not None
        known = self._known
        batch = Batch()
        new_ids: set[int] = set()
        for read in reads:
            task_id = read.task.task_id
            if (stored := known.get(task_id, _MISSING)) is not _MISSING:
                known[task_id] = _SEEN  # listed: not to be marked deleted
            id_key = hash(task_id)  # a collision costs a comparison or a merged batch
            if id_key in self._staged:
                batch.changed.append(read)
            elif id_key in self._outside:
                batch.outside.append(read)
            elif id_key in new_ids:
                batch.new.append(read)
            elif id_key in self._inserted or stored is _SEEN or not self._in_scope(read.task):
                batch.unsettled.append(read)
            elif stored is _MISSING:
                batch.new.append(read)
                new_ids.add(id_key)
            else:  # stored, and differs: matching re-reads settled as they were added
                batch.changed.append(read)
                self._staged.add(id_key)
        return batch

    async def _differing(self, reads: list[Read], stale_before: datetime) -> set[int]:
        rows = await self._conn.fetch(
            query("compare_stage_batch"),
            *self._key,
            [r.task.task_id for r in reads],
            [r.content_hash for r in reads],
            stale_before,
        )
        return {row["n"] for row in rows}

    def _take_unsettled(self, batch: Batch, differing: set[int]) -> None:
        """Stage the unsettled reads that change something; the server named them by position.

        A task this window wrote is its own to update; any other read outside the scope is
        another window's to store, and merged apart (`pipeline.db.merging`).
        """
        for n, read in enumerate(batch.unsettled, 1):
            id_key = hash(read.task.task_id)
            if n in differing and id_key not in self._staged and id_key not in self._outside:
                own = id_key in self._inserted or self._in_scope(read.task)
                (self._staged if own else self._outside).add(id_key)
        for read in batch.unsettled:  # every read of a staged task: the latest one wins
            id_key = hash(read.task.task_id)
            if id_key in self._staged:
                batch.changed.append(read)
            elif id_key in self._outside:
                batch.outside.append(read)

    async def _insert(self, reads: list[Read]) -> None:
        """COPY new tasks straight into `tasks`, or stage them for the merge if one is taken.

        The tasks lie in the window's scope, which no other window of the run lists; a read
        of one by a window outside its scope never holds it while waiting for another
        (`pipeline.db.merging`).
        """
        key = self._key
        rows = ((*key, *_content(r.task), r.seen_at, r.seen_at, r.content_hash) for r in reads)
        keys = {hash(r.task.task_id) for r in reads}
        try:
            async with self._conn.transaction():
                await self._conn.copy_records_to_table("tasks", records=rows, columns=TASK_COLUMNS)
        except (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError):
            # Another transaction stored one of them first: the merge compares them instead.
            self._staged |= keys
            await self._copy(reads, outside=False)
            return
        self._inserted |= keys
        self.inserted += len(reads)

    async def _copy(self, reads: list[Read], *, outside: bool) -> None:
        key = self._key
        rows = ((r.ord, *key, *_content(r.task), r.seen_at, r.content_hash, outside) for r in reads)
        await self._conn.copy_records_to_table("stage_tasks", records=rows, columns=STAGE_COLUMNS)
        if outside:
            self.staged_outside += len(reads)
        else:
            self.staged += len(reads)
