"""Applies the numbered migrations once each, under an advisory lock."""

from __future__ import annotations

import asyncpg
import structlog

from pipeline.db.sqlfiles import Migration, migrations, query
from pipeline.errors import DatabaseError

log = structlog.get_logger(__name__)


async def migrate(conn: asyncpg.Connection, pending: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    await conn.execute(query("lock_migrations"))
    try:
        await conn.execute(query("create_migrations_table"))
        applied = {
            r["version"]: r["checksum"] for r in await conn.fetch(query("applied_migrations"))
        }
        done: list[str] = []
        for migration in migrations() if pending is None else pending:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    # Released migrations are never edited: the schema cannot be trusted.
                    raise DatabaseError(
                        f"migration {migration.version} changed after this database applied it; "
                        "restore the released file or migrate a fresh database"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(query("record_migration"), migration.version, migration.checksum)
            log.info("migrate.applied", version=migration.version)
            done.append(migration.version)
        return done
    finally:
        await conn.execute(query("unlock_migrations"))
