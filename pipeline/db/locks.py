"""Advisory locks: two processes never load the same account and API at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from pipeline.db.loader import SourceKey
from pipeline.db.sqlfiles import query


@asynccontextmanager
async def source_lock(pool: asyncpg.Pool, key: SourceKey) -> AsyncIterator[bool]:
    """Hold the source's lock for the block if it is free; yields whether it was."""
    async with pool.acquire() as conn:
        held = await conn.fetchval(query("try_source_lock"), str(key))
        try:
            yield held
        finally:
            if held and not conn.is_closed():
                await conn.fetchval(query("release_source_lock"), str(key))
