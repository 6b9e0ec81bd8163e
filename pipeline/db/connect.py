"""Where the database is: PIPELINE_DATABASE_URL, else `database.dsn`, else (only when the config
asks for it) an embedded server; and the connections to it, each with the pipeline's search path."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import structlog

from pipeline.db.schema import SEARCH_PATH
from pipeline.errors import ConfigError, DatabaseError

log = structlog.get_logger(__name__)

ENV_DSN = "PIPELINE_DATABASE_URL"
EMBEDDED_HOME = Path(".pipeline")
NO_DATABASE = (
    f"no database: database.dsn is empty and {ENV_DSN} is not set; set one of them "
    "(`database: {embedded: true}` starts a PostgreSQL under ./.pipeline/ instead, for trying "
    "the pipeline out: its data lives only as long as that directory)"
)


def configured_dsn(config_dsn: str | None, environ: Mapping[str, str]) -> str | None:
    """The DSN the user asked for, or None for the embedded server."""
    return environ.get(ENV_DSN) or config_dsn or None


@asynccontextmanager
async def embedded_postgres(home: Path = EMBEDDED_HOME) -> AsyncIterator[str]:
    """Start (or join) a PostgreSQL kept under `home`; stopped when the last user leaves."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then falls back correctly.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported late: only the embedded path needs its binaries

    data = home.absolute() / "pgdata"  # noqa: ASYNC240 - a cwd lookup, not disk I/O
    await asyncio.to_thread(data.parent.mkdir, parents=True, exist_ok=True)
    log.info("database.embedded_starting", path=str(data))
    try:
        server = await asyncio.to_thread(pgserver.get_server, data, cleanup_mode="stop")
    except Exception as exc:
        raise DatabaseError(f"could not start the embedded PostgreSQL in {data}: {exc}") from exc
    try:
        yield server.get_uri()
    finally:
        await asyncio.to_thread(server.cleanup)


@asynccontextmanager
async def database_url(
    config_dsn: str | None, environ: Mapping[str, str], *, embedded: bool
) -> AsyncIterator[str]:
    """The DSN to use for this command; without one, the embedded server if `embedded` allows
    it, else a ConfigError naming the key and the variable."""
    dsn = configured_dsn(config_dsn, environ)
    if dsn:
        yield dsn
        return
    if not embedded:
        raise ConfigError(NO_DATABASE)
    async with embedded_postgres() as url:
        yield url


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    """A connection pool whose every connection searches SEARCH_PATH (whatever the DSN, the role
    or the database set), or a DatabaseError that never shows the password."""
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=max(size, 2),
            server_settings={"search_path": SEARCH_PATH},
        )
    except (OSError, asyncpg.PostgresError, ValueError) as exc:
        raise DatabaseError(f"cannot connect to the database: {_scrub(str(exc), dsn)}") from None
    assert pool is not None
    return pool


def _scrub(message: str, dsn: str) -> str:
    from pipeline.dsn import redact_dsn

    return message.replace(dsn, redact_dsn(dsn))
