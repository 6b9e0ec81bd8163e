"""Advisory locks: two processes never load the same account and API at once.

The lock is a session lock on a pooled connection, so it ends with its process: the server
drops it when the connection closes, however the process died. Whoever takes it notes so in
`source_holders`, so a process that finds it taken can tell for how long.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from pipeline.db.sqlfiles import query
from pipeline.model import SourceKey


@dataclass(frozen=True, slots=True)
class Holder:
    """The process holding a source's lock, as it noted itself."""

    pid: int | None = None
    run_id: UUID | None = None
    since: datetime | None = None
    held_seconds: float = 0.0

    def __str__(self) -> str:
        since = self.since.isoformat() if self.since else "an unknown time"
        return f"database backend pid {self.pid}, run {self.run_id}, since {since}"


@asynccontextmanager
async def source_lock(
    pool: asyncpg.Pool, key: SourceKey, run_id: UUID | None = None
) -> AsyncIterator[Holder | None]:
    """Hold the source's lock for the block if it is free (yields None), else yield its holder."""
    async with pool.acquire() as conn:
        held = await conn.fetchval(query("try_source_lock"), str(key))
        try:
            if not held:
                yield await _holder(conn, key)
                return
            await conn.execute(query("record_source_holder"), *_columns(key), run_id)
            yield None
        finally:
            if held and not conn.is_closed():
                await conn.fetchval(query("release_source_lock"), str(key))


async def _holder(conn: asyncpg.Connection, key: SourceKey) -> Holder:
    row = await conn.fetchrow(query("source_holder"), *_columns(key))
    if row is None:
        return Holder()
    return Holder(row["pid"], row["run_id"], row["acquired_at"], float(row["held_seconds"]))


def _columns(key: SourceKey) -> tuple[str, str, str]:
    return key.vendor, key.account, key.api
