"""A real PostgreSQL for tests: the local server when reachable, else the embedded one.

The schema is migrated once into a template database; each test gets a fresh clone of it.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from pipeline.db.migrate import migrate

LOCAL_SERVER = "postgresql://root@127.0.0.1:5432/postgres"


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def as_role(url: str, role: str) -> str:
    """`url` logging in as `role` (the test server trusts loopback connections)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1] if "@" in parts.netloc else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


async def _reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


@contextmanager
def server_url() -> Iterator[str]:
    """The admin URL of a PostgreSQL server for this test session."""
    url = os.environ.get("PIPELINE_TEST_DATABASE_URL", LOCAL_SERVER)
    if asyncio.run(_reachable(url)):
        yield url
        return
    import pgserver

    home = Path(tempfile.gettempdir()) / "pipeline-test-pg"
    server = pgserver.get_server(home, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


@contextmanager
def template_database(admin_url: str) -> Iterator[str]:
    """A migrated template database, dropped at the end of the session."""
    name = f"pipeline_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate(with_database(admin_url, name)))
        yield name
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def cloned_database(admin_url: str, template: str) -> Iterator[str]:
    """A fresh copy of the template for one test; its URL."""
    name = f"pipeline_test_{uuid.uuid4().hex[:10]}"
    # The tests' own connections find the tables as an analyst's do (sql/roles.sql); the
    # pipeline's connections set their own path whatever the database says.
    asyncio.run(
        _admin(
            admin_url,
            f'CREATE DATABASE "{name}" TEMPLATE "{template}"',
            f'ALTER DATABASE "{name}" SET search_path = pipeline',
        )
    )
    try:
        yield with_database(admin_url, name)
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
