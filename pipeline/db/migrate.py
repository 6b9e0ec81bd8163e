"""Applies the numbered migrations once each, under an advisory lock."""

from __future__ import annotations

import asyncpg
import structlog

from pipeline.db.sqlfiles import Migration, migrations, query
from pipeline.errors import DatabaseError

log = structlog.get_logger(__name__)

DATA_STEP = "006_scrub_vendor_secrets"
"""The migration whose work is done in Python, in batches, before its (empty) SQL is recorded."""


async def migrate(
    conn: asyncpg.Connection,
    pending: list[Migration] | None = None,
    *,
    redaction_key: bytes | None = None,
) -> list[str]:
    """Apply every migration not yet recorded; returns the versions applied now.

    `redaction_key` is what migration 006's data step needs when stored records hold vendor
    credentials (a ConfigError says so when it is missing)."""
    await conn.execute(query("lock_migrations"))
    try:
        await prepare_ledger(conn)
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
            if migration.version == DATA_STEP:
                # Imported here: only this step knows the vendors' declarations.
                from pipeline.scrub import scrub_stored_records

                await scrub_stored_records(conn, redaction_key)
            async with conn.transaction():
                await conn.execute(query("set_migration_path"))
                await conn.execute(migration.sql)
                await conn.execute(query("record_migration"), migration.version, migration.checksum)
            log.info("migrate.applied", version=migration.version)
            done.append(migration.version)
        return done
    finally:
        await conn.execute(query("unlock_migrations"))


async def prepare_ledger(conn: asyncpg.Connection) -> None:
    """The pipeline's schema and its ledger, adopting the one a release before 005 kept in
    `public`."""
    state = await conn.fetchrow(query("ledger_state"))
    if state["has_ledger"]:
        return  # no DDL, so a role without any may run `migrate` on an up-to-date database
    async with conn.transaction():
        if not state["has_schema"]:
            await conn.execute(query("create_schema"))
        if state["has_public_ledger"]:
            await conn.execute(query("adopt_public_ledger"))
        else:
            await conn.execute(query("create_migrations_table"))
