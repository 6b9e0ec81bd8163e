"""Scratch databases for the benchmarks: one migrated template, a fresh clone per scenario."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from pipeline.db.migrate import migrate
from pipeline.db.schema import SEARCH_PATH
from pipeline.db.sqlfiles import parse_queries

LOCAL_SERVER = "postgresql://root@127.0.0.1:5432/postgres"
URL_ENVS = ("PIPELINE_DATABASE_URL", "PIPELINE_TEST_DATABASE_URL")


@cache
def sql(name: str) -> str:
    """One named statement of benchmarks/queries.sql."""
    return parse_queries((Path(__file__).parent / "queries.sql").read_text("utf-8"))[name]


def admin_url(cli_value: str | None, environ: Mapping[str, str] | None = None) -> str:
    """`--database-url`, else the pipeline's or the tests' variable, else the local server."""
    environ = os.environ if environ is None else environ
    return cli_value or next((environ[n] for n in URL_ENVS if environ.get(n)), LOCAL_SERVER)


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@asynccontextmanager
async def migrated_template(url: str) -> AsyncIterator[str]:
    """A database migrated once to the latest schema, dropped at the end; its name."""
    name = f"pipeline_bench_tpl_{uuid.uuid4().hex[:10]}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(with_database(url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield name
    finally:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_database(url: str, template: str) -> AsyncIterator[str]:
    """The URL of a fresh clone of `template`, dropped when the block ends."""
    name = f"pipeline_bench_{uuid.uuid4().hex[:10]}"
    await _admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield with_database(url, name)
    finally:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def scratch_pool(url: str, template: str, size: int = 8) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh clone of `template`, dropped when the block ends."""
    async with scratch_database(url, template) as database:
        pool = await asyncpg.create_pool(
            database, min_size=1, max_size=size, server_settings={"search_path": SEARCH_PATH}
        )
        try:
            yield pool
        finally:
            await pool.close()


async def checkpoint(pool: asyncpg.Pool) -> None:
    """Flush dirty buffers before a timed scenario, when the role may; else carry on."""
    try:
        await pool.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass


async def server_settings(url: str) -> dict[str, str]:
    """The server's version and the settings that move load throughput most."""
    conn = await asyncpg.connect(url)
    try:
        return dict(await conn.fetchrow(sql("server_settings")))
    finally:
        await conn.close()
