"""Shared fixtures: a real PostgreSQL per test, cloned from a migrated template."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.database import cloned_database, server_url, template_database


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with server_url() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    with template_database(pg_server) as name:
        yield name


@pytest.fixture
def db_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated database for this test alone."""
    with cloned_database(pg_server, pg_template) as url:
        yield url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=8)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()
