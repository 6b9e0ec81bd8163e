"""What a window has read of its scope, and what each read needs written: decisions only.

A window starts from the stored state of its scope (the start times it lists): each stored
task's content hash, None where the row must be rewritten whatever is read. A re-read that
matches its stored hash is decided as it is added: it is noted as listed and buffers nothing.
`decide` sorts the buffered reads into new tasks (COPYed straight into `tasks`), changes of
stored tasks (staged for the merge), reads outside the scope (merged apart), and undecided
reads, which the server compares by primary key; `decide_compared` sorts those by its answer.
The stored tasks of the scope that no read named are what a complete listing missed. The
writing is `pipeline.db.staging`'s; the merges, `pipeline.db.merging`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import NamedTuple

import xxhash

from pipeline.model import COMPARED_COLUMNS, Task
from pipeline.payloads import json_bytes
from pipeline.periods import Period

_SIGN = 1 << 63
_MISSING = object()  # not stored in the scope
_SEEN = object()  # stored in the scope and read once already

# Everything the merge compares, as one tuple (attrgetter builds it without a Python frame).
_COMPARED = attrgetter(*COMPARED_COLUMNS)


def content_hash(task: Task) -> int:
    """A signed 64-bit digest of everything the merge compares (a bigint column holds it)."""
    return (xxhash.xxh3_64_intdigest(json_bytes(_COMPARED(task))) ^ _SIGN) - _SIGN


class Read(NamedTuple):
    """One task as a listing returned it, in read order."""

    ord: int
    task: Task
    seen_at: datetime
    content_hash: int


def latest(reads: Sequence[Read]) -> list[Read]:
    """The last read of each task."""
    kept: dict[str, Read] = {}
    for read in reads:
        earlier = kept.get(read.task.task_id)
        if earlier is None or earlier.ord < read.ord:
            kept[read.task.task_id] = read
    return list(kept.values())


@dataclass(slots=True)
class Batch:
    """Buffered reads, sorted by what writing them takes."""

    new: list[Read] = field(default_factory=list)
    changed: list[Read] = field(default_factory=list)
    outside: list[Read] = field(default_factory=list)
    undecided: list[Read] = field(default_factory=list)  # for the server to compare


class Ledger:
    """One window's reads against the stored state of its scope (None: the whole source).

    `stored` maps each stored task id of the scope to its content hash (None: to rewrite).
    """

    def __init__(self, scope: Period | None, stored: Mapping[str, int | None]) -> None:
        self._scope = scope
        self._known: dict[str, object] = dict(stored)
        self._ord = 0
        self._pending: list[Read] = []
        self._buffered: set[str] = set()  # ids of the pending reads
        # Hashes of ids (not the ids: small even for a big window). Once a task is staged, its
        # later reads are too, to the same table; a task already inserted is compared again.
        self._staged: set[int] = set()
        self._outside: set[int] = set()
        self._inserted: set[int] = set()

    @property
    def read(self) -> int:
        """Task rows added so far (every read, buffered or not)."""
        return self._ord

    @property
    def pending(self) -> int:
        """Reads buffered for the next batch."""
        return len(self._pending)

    def add(self, tasks: Sequence[Task], seen_at: datetime) -> None:
        """Buffer a page of reads, but for the re-reads that match their stored task."""
        known, pending, buffered = self._known, self._pending, self._buffered
        start, self._ord = self._ord, self._ord + len(tasks)
        for n, task in enumerate(tasks, start + 1):
            task_id, digest = task.task_id, content_hash(task)
            # An earlier read still buffered may differ: the latest read must win.
            if known.get(task_id) == digest and task_id not in buffered:
                known[task_id] = _SEEN
            else:
                pending.append(Read(n, task, seen_at, digest))
                buffered.add(task_id)

    def unread(self) -> list[str]:
        """Ids of the tasks stored in the scope that no read named so far."""
        return [task_id for task_id, state in self._known.items() if state is not _SEEN]

    def decide(self) -> Batch:
        """Take the buffered reads, sorted into new, changed, outside the scope and undecided."""
        reads, self._pending, self._buffered = self._pending, [], set()
        known, batch = self._known, Batch()
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
                batch.undecided.append(read)
            elif stored is _MISSING:
                batch.new.append(read)
                new_ids.add(id_key)
            else:  # stored, and differs: matching re-reads were decided as they were added
                batch.changed.append(read)
                self._staged.add(id_key)
        return batch

    def decide_compared(self, batch: Batch, differing: set[int]) -> None:
        """Stage the undecided reads that change something: the server named them by position
        (from 1). A task this window wrote is its own to update; any other read outside the
        scope is another window's to store, and merged apart (`pipeline.db.merging`)."""
        for n, read in enumerate(batch.undecided, 1):
            id_key = hash(read.task.task_id)
            if n in differing and id_key not in self._staged and id_key not in self._outside:
                own = id_key in self._inserted or self._in_scope(read.task)
                (self._staged if own else self._outside).add(id_key)
        for read in batch.undecided:  # every read of a staged task: the latest one wins
            id_key = hash(read.task.task_id)
            if id_key in self._staged:
                batch.changed.append(read)
            elif id_key in self._outside:
                batch.outside.append(read)

    def note_inserted(self, reads: Sequence[Read]) -> None:
        """Note reads COPYed into `tasks` as new: their later reads are compared again."""
        self._inserted |= {hash(r.task.task_id) for r in reads}

    def note_staged(self, reads: Sequence[Read]) -> None:
        """Note reads staged for the merge instead: their later reads are staged too."""
        self._staged |= {hash(r.task.task_id) for r in reads}

    def _in_scope(self, task: Task) -> bool:
        scope = self._scope
        if scope is None:
            return True
        return task.start_time is not None and scope.start <= task.start_time < scope.end
