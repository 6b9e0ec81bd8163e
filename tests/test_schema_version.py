"""Only `migrate` changes the schema: the other commands stop with exit 2 while the database is
behind (or ahead of) the release; and a database laid out by a release before 005, with its
objects in `public`, moves into the schema `pipeline` whole."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from pipeline.cli import run_cli
from pipeline.db.connect import create_pool
from pipeline.db.migrate import migrate
from pipeline.db.schema import schema_problem
from pipeline.db.sqlfiles import Migration, migrations
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import SECRET_ID, SECRET_KEY
from tests.database import _admin, with_database
from tests.test_database_config import write_config

RUNS = {
    "sync": ["sync"],
    "backfill": ["backfill", "--since", "2026-01-01"],
    "status": ["status"],
}
# What releases before 005 created first, in `public`.
OLD_LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text        PRIMARY KEY,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""
# Everything of the pipeline's own that a database holds, in a form two databases can compare.
CATALOG = """
SELECT 'relation ' || c.relkind::text || ' ' || c.relname || ' ' || coalesce(
           CASE c.relkind WHEN 'v' THEN pg_get_viewdef(c.oid) WHEN 'i' THEN pg_get_indexdef(c.oid)
           END, '')
FROM pg_class AS c WHERE c.relnamespace = 'pipeline'::regnamespace
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' ' || coalesce(array_to_string(p.proconfig, ','), '')
FROM pg_proc AS p WHERE p.pronamespace = 'pipeline'::regnamespace
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'pipeline'::regnamespace
UNION ALL
SELECT 'column ' || attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, atttypmod)
       || ' ' || attidentity::text || coalesce(' ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef AS d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
WHERE c.relnamespace = 'pipeline'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1
"""


@pytest.fixture
async def empty_db(pg_server: str) -> AsyncIterator[str]:
    """A database no pipeline has touched; its URL."""
    name = f"pipeline_empty_{uuid.uuid4().hex[:10]}"
    await _admin(pg_server, f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_server, name)
    finally:
        await _admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate_as_before_005(url: str, upto: int) -> None:
    """What a release before 005 did: ledger and objects in `public`, migrations up to `upto`."""
    conn = await asyncpg.connect(url, server_settings={"search_path": "public"})
    try:
        await conn.execute(OLD_LEDGER)
        for m in migrations()[:upto]:
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    m.version,
                    m.checksum,
                )
    finally:
        await conn.close()


async def catalog(url: str) -> list[str]:
    pool = await create_pool(url, 2)  # the pipeline's path: its own names print unqualified
    try:
        return [r[0] for r in await pool.fetch(CATALOG)]
    finally:
        await pool.close()


async def migrate_url(url: str, pending: list[Migration] | None = None) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn, pending)
    finally:
        await conn.close()


@pytest.mark.parametrize("upto", [3, 4], ids=["at 003", "at 004"])
async def test_a_database_of_an_earlier_release_moves_into_the_schema_whole(
    upto: int, empty_db: str, db_url: str
) -> None:
    await migrate_as_before_005(empty_db, upto)
    seen = datetime(2026, 11, 1, tzinfo=UTC)
    conn = await asyncpg.connect(empty_db, server_settings={"search_path": "public"})
    try:
        await conn.execute(
            "INSERT INTO tasks (vendor, account, api, task_id, kind, status, raw, first_seen_at,"
            " last_seen_at) VALUES ('zego', 'a', 'DescribeTasks', 't1', 'record', 'running',"
            " '{}', $1, $1)",
            seen,
        )
        await conn.execute(
            "INSERT INTO task_history (vendor, account, api, task_id, observed_at, changes)"
            " VALUES ('zego', 'a', 'DescribeTasks', 't1', $1, '{}')",
            seen,
        )
    finally:
        await conn.close()
    applied = await migrate_url(empty_db)
    assert applied == [m.version for m in migrations()[upto:]]
    assert await catalog(empty_db) == await catalog(db_url)  # as if migrated fresh
    pool = await create_pool(empty_db, 2)
    try:
        assert await pool.fetchval("SELECT count(*) FROM tasks") == 1
        await pool.execute(
            "INSERT INTO task_history (vendor, account, api, task_id, observed_at, changes)"
            " VALUES ('zego', 'a', 'DescribeTasks', 't1', $1, '{}')",
            seen,
        )
        assert [r["id"] for r in await pool.fetch("SELECT id FROM task_history")] == [1, 2]
        left = await pool.fetchval(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        )
        assert left == 0
    finally:
        await pool.close()
    assert await migrate_url(empty_db) == []


def test_the_schema_is_behind_ahead_or_current() -> None:
    shipped = [Migration(v, "") for v in ("001_a", "002_b")]
    assert schema_problem(["001_a", "002_b"], shipped) is None
    behind = schema_problem(["001_a"], shipped)
    assert behind is not None and "002_b" in behind and "run `pipeline migrate`" in behind
    none = schema_problem([], shipped)
    assert none is not None and "no pipeline schema" in none and "pipeline migrate" in none
    ahead = schema_problem(["001_a", "002_b", "003_c"], shipped)
    assert ahead is not None and "003_c" in ahead and "upgrade" in ahead


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENCENT_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENT_SECRET_KEY", SECRET_KEY)


@pytest.mark.parametrize("command", RUNS, ids=list(RUNS))
async def test_a_database_behind_stops_each_command_with_exit_2_until_migrated(
    command: str,
    empty_db: str,
    tmp_path: Path,
    env: None,
    tencent: TencentSandbox,
    tencent_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PIPELINE_DATABASE_URL", empty_db)
    argv = [*RUNS[command], "--config", str(write_config(tmp_path, "", tencent_url)), "--quiet"]
    await migrate_url(empty_db, migrations()[:-1])
    assert await run_cli(argv) == 2
    err = capsys.readouterr().err
    assert "run `pipeline migrate`" in err and migrations()[-1].version in err
    assert len(tencent.requests) == 0
    assert await run_cli(["migrate", "--config", argv[-2]]) == 0
    assert await run_cli(argv) in (0, 1)  # status: 1 until a sync succeeded
    assert "pipeline migrate" not in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["never migrated", "an earlier release", "a later release"])
async def test_sync_stops_on_a_database_this_release_cannot_serve(
    layout: str,
    empty_db: str,
    tmp_path: Path,
    env: None,
    tencent: TencentSandbox,
    tencent_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if layout == "an earlier release":
        await migrate_as_before_005(empty_db, 4)
    elif layout == "a later release":
        await migrate_url(empty_db)
        await _admin(
            empty_db, "INSERT INTO pipeline.schema_migrations VALUES ('999_future', 'x', now())"
        )
    monkeypatch.setenv("PIPELINE_DATABASE_URL", empty_db)
    path = write_config(tmp_path, "", tencent_url)
    assert await run_cli(["sync", "--config", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    expected = "upgrade the pipeline" if layout == "a later release" else "run `pipeline migrate`"
    assert expected in err
    assert len(tencent.requests) == 0
