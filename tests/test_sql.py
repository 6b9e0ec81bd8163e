"""The SQL files: named queries parse, migrations apply once each, in order, under a lock."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

import asyncpg
import pytest

from pipeline.db.migrate import migrate
from pipeline.db.sqlfiles import migrations, parse_queries, queries, query

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"


def test_named_queries_are_split_at_their_name_lines() -> None:
    text = "-- name: one\nSELECT 1;\n\n-- name: two\n-- says why\nSELECT 2;\n"
    assert parse_queries(text) == {"one": "SELECT 1;", "two": "-- says why\nSELECT 2;"}


def test_a_query_name_may_not_repeat() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: one\nSELECT 1;\n-- name: one\nSELECT 2;\n")


def test_every_query_the_code_asks_for_exists() -> None:
    asked = {
        name
        for path in PACKAGE.rglob("*.py")
        for name in re.findall(r'query\("(\w+)"\)', path.read_text())
    }
    assert asked and asked <= set(queries())


def test_an_unknown_query_name_says_where_it_looked() -> None:
    with pytest.raises(KeyError, match="sql"):
        query("no_such_query")


def test_migrations_are_numbered_in_order() -> None:
    versions = [m.version for m in migrations()]
    assert versions == sorted(versions) and versions[0].startswith("001")


async def test_migrate_applies_nothing_the_second_time(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        assert await migrate(conn) == []  # the template was migrated already
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        await conn.close()
    assert applied == len(migrations())


async def test_concurrent_migrations_apply_each_file_once(pg_server: str) -> None:
    from tests.database import _admin, with_database

    name = f"pipeline_migrate_race_{uuid.uuid4().hex[:8]}"
    await _admin(
        pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    url = with_database(pg_server, name)
    conns = [await asyncpg.connect(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations())]
    finally:
        for c in conns:
            await c.close()
        await _admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_migration_edited_after_it_was_applied_stops_the_command(db_url: str) -> None:
    from pipeline.db.sqlfiles import Migration
    from pipeline.errors import DatabaseError

    conn = await asyncpg.connect(db_url)
    try:
        edited = Migration(migrations()[0].version, migrations()[0].sql + "\n-- edited\n")
        with pytest.raises(DatabaseError, match="changed after this database applied it"):
            await migrate(conn, [edited])
    finally:
        await conn.close()
