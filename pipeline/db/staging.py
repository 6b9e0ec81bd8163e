"""Stages a window's tasks for the merge, leaving out the ones the database already holds.

Each row carries a hash of its content. Before a batch is staged, the hashes stored for its
task ids are read back (a primary-key lookup): a task whose content, deletion mark and
`last_seen_at` need no change is only noted as seen. A re-read of unchanged data so sends
ids, not rows, and the merge writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from pipeline.db.sqlfiles import query
from pipeline.model import Task

STAGE_COLUMNS = (
    "ord", "vendor", "account", "api", "task_id", "kind", "domain", "app", "stream", "room_id",
    "status", "vendor_status", "start_time", "end_time", "raw", "seen_at", "content_hash",
)  # fmt: skip
_ID, _SEEN_AT, _HASH = STAGE_COLUMNS.index("task_id"), STAGE_COLUMNS.index("seen_at"), -1


def content_hash(task: Task, raw_json: str) -> int:
    """A signed 64-bit digest of everything the merge compares."""
    start = task.start_time.timestamp() if task.start_time else None
    end = task.end_time.timestamp() if task.end_time else None
    text = (
        f"{task.kind}\x1f{task.domain}\x1f{task.app}\x1f{task.stream}\x1f{task.room_id}\x1f"
        f"{task.status}\x1f{task.vendor_status}\x1f{start}\x1f{end}\x1f{raw_json}"
    )
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Stager:
    """Buffers one window's rows and stages those whose content is new to the database."""

    def __init__(
        self, conn: asyncpg.Connection, key: tuple[str, str, str], resolution: timedelta
    ) -> None:
        self._conn = conn
        self._key = key
        self._resolution = resolution
        self._ord = 0
        self._pending: list[tuple] = []
        # Hashes of the ids staged so far (not the ids): small even for a big window.
        self._staged: set[int] = set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def read(self) -> int:
        """Task rows added so far (every read, staged or not)."""
        return self._ord

    def add(self, tasks: Sequence[Task], seen_at: datetime) -> None:
        for task in tasks:
            self._ord += 1
            # Vendors send their fields in a stable order: no need to sort them.
            raw = json.dumps(task.raw, ensure_ascii=False)
            self._pending.append((
                self._ord, *self._key, task.task_id, task.kind.value, task.domain, task.app,
                task.stream, task.room_id, task.status.value, task.vendor_status,
                task.start_time, task.end_time, raw, seen_at, content_hash(task, raw),
            ))  # fmt: skip

    async def flush(self) -> None:
        """Stage the buffered rows that change something; note every id as seen."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        ids = list({row[_ID] for row in rows})
        known = {
            r["task_id"]: r
            for r in await self._conn.fetch(query("stored_task_state"), *self._key, ids)
        }
        changed = []
        for row in rows:  # in read order: once a task is staged, its later reads are too
            if self._changes_something(row, known.get(row[_ID])):
                changed.append(row)
                self._staged.add(hash(row[_ID]))
        if changed:
            await self._conn.copy_records_to_table(
                "stage_tasks", records=changed, columns=STAGE_COLUMNS
            )
        await self._conn.copy_records_to_table(
            "stage_seen", records=[(task_id,) for task_id in ids], columns=("task_id",)
        )

    def _changes_something(self, row: tuple, stored: asyncpg.Record | None) -> bool:
        return (
            stored is None
            or hash(row[_ID]) in self._staged  # a collision only stages one row more
            or stored["content_hash"] != row[_HASH]
            or stored["deleted"]
            or stored["last_seen_at"] < row[_SEEN_AT] - self._resolution
        )
