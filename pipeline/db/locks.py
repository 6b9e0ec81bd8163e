"""Advisory locks: two processes never load the same account and API at once.

The locks are session locks, so they end with their process: the server drops them when the
connection closes, however the process died. A process holds all of its sources' locks on one
pooled connection: a connection per source would take as many from the pool as there are
sources, and with as many sources as connections no window could get one (the run would hang).
Whoever takes a lock notes so in `source_holders`, so a process that finds it taken can tell for
how long.
"""

from __future__ import annotations

import asyncio
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


class SourceLocks:
    """The source locks of one process, on one connection taken from the pool while any is
    held, and given back (its locks all released) when the last one is."""

    def __init__(self, pool: asyncpg.Pool, run_id: UUID | None = None) -> None:
        self._pool = pool
        self._run_id = run_id
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None
        self._held = 0
        self._turn = asyncio.Lock()  # one statement at a time on the shared connection

    @asynccontextmanager
    async def hold(self, key: SourceKey) -> AsyncIterator[Holder | None]:
        """Hold the source's lock for the block if it is free (yields None), else yield its
        holder."""
        holder = await self._take(key)
        if holder is not None:
            yield holder
            return
        try:
            yield None
        finally:
            await self._give_back(key)

    async def _take(self, key: SourceKey) -> Holder | None:
        async with self._turn:
            conn = await self._connection()
            try:
                if not await conn.fetchval(query("try_source_lock"), str(key)):
                    holder = await _holder(conn, key)
                    await self._return_if_idle()
                    return holder
                await conn.execute(query("record_source_holder"), *_columns(key), self._run_id)
            except BaseException:
                await self._drop()  # its state is unknown: no lock on it can be trusted
                raise
            self._held += 1
            return None

    async def _give_back(self, key: SourceKey) -> None:
        async with self._turn:
            self._held -= 1
            conn = self._conn
            try:
                if conn is not None and not conn.is_closed():
                    await conn.fetchval(query("release_source_lock"), str(key))
            except BaseException:
                await self._drop()
                raise
            await self._return_if_idle()

    async def _connection(self) -> asyncpg.pool.PoolConnectionProxy:
        if self._conn is not None and self._conn.is_closed():
            await self._drop()  # its locks ended with it; a new one takes the next
        if self._conn is None:
            self._conn = await self._pool.acquire()
        return self._conn

    async def _return_if_idle(self) -> None:
        if self._held == 0 and self._conn is not None:
            conn, self._conn = self._conn, None
            await self._pool.release(conn)  # the pool's reset unlocks anything left

    async def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.terminate()
            await self._pool.release(conn)


async def _holder(conn: asyncpg.Connection, key: SourceKey) -> Holder:
    row = await conn.fetchrow(query("source_holder"), *_columns(key))
    if row is None:
        return Holder()
    return Holder(row["pid"], row["run_id"], row["acquired_at"], float(row["held_seconds"]))


def _columns(key: SourceKey) -> tuple[str, str, str]:
    return key.vendor, key.account, key.api
