"""What each command does, once its arguments are parsed."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from pipeline.config import (
    DATABASE_URL_ENV,
    DatabaseConfig,
    DatabaseSettings,
    RedactionSettings,
    Settings,
    load_database_config,
    load_settings,
    resolve_config_path,
)
from pipeline.db.connect import create_pool, database_url
from pipeline.db.migrate import migrate
from pipeline.db.schema import check_schema
from pipeline.errors import ConfigError
from pipeline.logs import configure_logging
from pipeline.metrics import write_metrics
from pipeline.periods import Period
from pipeline.planning.sources import BackfillRequest, Request, SyncRequest
from pipeline.progress import BarProgress, LogProgress, SilentProgress
from pipeline.redaction import KEY_ENV
from pipeline.runner import RunReport, Selection, execute, selected
from pipeline.shards import Shard, resolve_shard

log = structlog.get_logger(__name__)

# A backfill without --until reaches as far ahead as each vendor lets tasks be scheduled.
FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)


async def run(args: argparse.Namespace) -> int:
    handler = {
        "migrate": migrate_command,
        "sync": sync_command,
        "backfill": backfill_command,
        "status": status_command,
    }[args.command]
    return await handler(args)


def setup_logging(args: argparse.Namespace, secrets: Sequence[str]) -> None:
    fmt = getattr(args, "log_format", None)
    json = None if fmt is None else fmt == "json"
    configure_logging(json=json, secrets=secrets)


def settings_from(args: argparse.Namespace) -> Settings:
    """The whole validated config, credentials included (sync, backfill)."""
    return load_settings(resolve_config_path(args.config))


def database_config_from(args: argparse.Namespace) -> DatabaseConfig:
    """The database and the accounts' names (migrate, status: no vendor secret needed); from
    the environment alone when no config file is named and none is found."""
    path = resolve_config_path(args.config)
    if path.exists() or args.config is not None or "PIPELINE_CONFIG" in os.environ:
        return load_database_config(path)
    database = DatabaseSettings(dsn=os.environ.get(DATABASE_URL_ENV) or None)
    redaction = RedactionSettings(key=os.environ.get(KEY_ENV) or None)
    return DatabaseConfig(database=database, redaction=redaction)


@asynccontextmanager
async def open_pool(
    database: DatabaseSettings,
    size: int = 10,
    *,
    upgrade: bool = False,
    redaction_key: bytes | None = None,
) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the configured database: migrated to this release's schema when `upgrade`
    (migrate, demo; `redaction_key` for the scrub of stored records), else checked to be at it
    (SchemaOutOfDate: exit 2; no DDL rights needed)."""
    dsn = database.dsn.get_secret_value() if database.dsn else None
    async with database_url(dsn, os.environ, embedded=database.embedded) as url:
        pool = await create_pool(url, size)
        try:
            async with pool.acquire() as conn:
                if upgrade:
                    await migrate(conn, redaction_key=redaction_key)
                else:
                    await check_schema(conn)
            yield pool
        finally:
            await pool.close()


def choose_progress(args: argparse.Namespace) -> Any:
    if getattr(args, "quiet", False):
        return nullcontext(SilentProgress())
    if sys.stderr.isatty():
        return BarProgress(sys.stderr)
    return nullcontext(LogProgress())


async def migrate_command(args: argparse.Namespace) -> int:
    config = database_config_from(args)
    setup_logging(args, config.secret_values())
    key = config.redaction.key
    redaction_key = key.get_secret_value().encode() if key else None
    async with open_pool(config.database, size=2, upgrade=True, redaction_key=redaction_key):
        pass
    print("pipeline: schema is up to date")
    return 0


async def sync_command(args: argparse.Namespace) -> int:
    shard = resolve_shard(args.shard, os.environ)
    arguments = {"accounts": args.account} | sharded(shard)
    return await _run(
        args, "sync", SyncRequest(), Selection(tuple(args.account), (), shard), arguments
    )


async def backfill_command(args: argparse.Namespace) -> int:
    until = args.until or FAR_FUTURE
    if until <= args.since:
        raise ConfigError(
            f"--until {until.isoformat()} is not after --since {args.since.isoformat()}"
        )
    shard = resolve_shard(args.shard, os.environ)
    arguments = {
        "since": args.since.isoformat(),
        "until": args.until.isoformat() if args.until else None,
        "accounts": sorted(args.account),
        "apis": sorted(args.api),
    } | sharded(shard)
    request = BackfillRequest(Period(args.since, until), refetch=args.refetch)
    selection = Selection(tuple(args.account), tuple(args.api), shard)
    return await _run(args, "backfill", request, selection, arguments)


def sharded(shard: Shard | None) -> dict[str, str]:
    """The shard among a run's arguments: a retried worker resumes its own backfill only."""
    return {"shard": str(shard)} if shard else {}


async def _run(
    args: argparse.Namespace,
    command: str,
    request: Request,
    selection: Selection,
    arguments: dict[str, Any],
) -> int:
    settings = settings_from(args)
    setup_logging(args, settings.secret_values())
    return await run_with_settings(settings, args, command, request, selection, arguments)


async def run_with_settings(
    settings: Settings,
    args: argparse.Namespace,
    command: str,
    request: Request,
    selection: Selection,
    arguments: dict[str, Any],
) -> int:
    """Run a sync or backfill with validated settings; SIGTERM stops it within seconds."""
    sources = len(selected(settings, selection))  # unknown names: exit 2 before any connection
    async with open_pool(settings.database, size=pool_size(settings, sources)) as pool:
        with choose_progress(args) as shown, stop_on_sigterm() as stop:
            report = await execute(
                settings=settings,
                pool=pool,
                command=command,
                arguments=arguments,
                request=request,
                selection=selection,
                progress=shown,
                clock=time.time,
                stop=stop,
            )
    report_failures(report)
    if args.metrics_file is not None:
        write_metrics(args.metrics_file, command, report, time.time())
    return report.exit_code


def pool_size(settings: Settings, sources: int) -> int:
    """A connection per window in flight, one per source for planning and saving, one for every
    source's lock and one spare; never more than `database.pool_size`. No source holds one
    connection while it waits for another, so a smaller pool makes windows wait, never hang."""
    wanted = sources * (settings.concurrency.windows_per_source + 1) + 2
    return min(wanted, settings.database.pool_size)


@contextmanager
def stop_on_sigterm() -> Iterator[asyncio.Event]:
    """An event set by SIGTERM: the run stops its windows in flight (their transactions roll
    back; finished windows stay committed), even mid-request or mid-wait, and records itself."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def requested() -> None:
        log.warning("run.stopping", reason="SIGTERM: stopping the windows in flight")
        stop.set()

    loop.add_signal_handler(signal.SIGTERM, requested)
    try:
        yield stop
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def report_failures(report: RunReport) -> None:
    """On stderr: what each source could not do (clamps, gaps) and each failure's code."""
    for result in report.sources:
        for note in result.notes:
            print(f"pipeline: {result.key}: {note}", file=sys.stderr)
        if result.outcome == "failed":
            print(
                f"pipeline: {result.key} failed: {result.error_code}: {result.error_message}",
                file=sys.stderr,
            )


async def status_command(args: argparse.Namespace) -> int:
    from pipeline.status import show_status

    config = database_config_from(args)
    setup_logging(args, config.database.secret_values())
    async with open_pool(config.database, size=2) as pool:
        return await show_status(pool, config, as_json=args.json, now=datetime.now(UTC))
