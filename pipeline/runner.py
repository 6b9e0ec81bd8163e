"""A whole run: every selected account and API at once, recorded in `sync_runs`."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import aiohttp
import asyncpg
import structlog

from pipeline.config import Settings, rate_for, selected_apis
from pipeline.db import runs
from pipeline.errors import ConfigError
from pipeline.jobs import Job, SourceRunner, utc_now
from pipeline.model import SourceKey, SourceResult
from pipeline.pacing import Pacer, StrictPacer
from pipeline.planning.sources import BackfillRequest, Request
from pipeline.progress import Progress
from pipeline.redaction import Redactor
from pipeline.retry import RetryPolicy
from pipeline.shards import Shard
from pipeline.transport import Transport
from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which accounts and APIs a run covers (empty means all)."""

    accounts: tuple[str, ...] = ()
    apis: tuple[str, ...] = ()
    shard: Shard | None = None
    """This worker's share of the sources (None: all of them)."""


@dataclass(slots=True)
class RunReport:
    """How a run ended and what each source did."""

    run_id: UUID
    outcome: str
    sources: list[SourceResult] = field(default_factory=list)
    shard: Shard | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.outcome == "succeeded" else 1


def selected(settings: Settings, selection: Selection) -> list[tuple[AccountBase, str]]:
    """(account, api) pairs to run; an unknown name is a usage error, found before any request."""
    names = {a.name for a in settings.accounts}
    for name in selection.accounts:
        if name not in names:
            raise ConfigError(
                f"--account {name}: no such account (configured: {', '.join(sorted(names))})"
            )
    pairs = [
        (account, api)
        for account in settings.accounts
        if not selection.accounts or account.name in selection.accounts
        for api in selected_apis(account)
    ]
    known_apis = {api for _, api in pairs}
    for api in selection.apis:
        if api not in known_apis:
            known = ", ".join(sorted(known_apis))
            raise ConfigError(f"--api {api}: not an API of the selected accounts ({known})")
    shard = selection.shard
    return [
        (a, api)
        for a, api in pairs
        if (not selection.apis or api in selection.apis)
        and (shard is None or shard.owns(a.vendor, a.name, api))
    ]


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The vendors' TLS: always verified, against the system's CAs plus `http.ca_bundle`'s."""
    context = ssl.create_default_context()
    # create_default_context(cafile=...) would load the bundle *instead of* the system store.
    if settings.http.ca_bundle:
        context.load_verify_locations(cafile=settings.http.ca_bundle)
    return context


async def execute(
    *,
    settings: Settings,
    pool: asyncpg.Pool,
    command: str,
    arguments: dict[str, Any],
    request: Request,
    selection: Selection,
    progress: Progress,
    clock: Callable[[], float],
    stop: asyncio.Event | None = None,
) -> RunReport:
    """Run every selected source concurrently and record the run; `stop` ends it early."""
    pairs = selected(settings, selection)
    settings.redaction.required_key()  # exit 2 before anything is written or requested
    run_id = uuid4()
    structlog.contextvars.bind_contextvars(run_id=str(run_id), account=None, api=None)
    async with pool.acquire() as conn:
        if isinstance(request, BackfillRequest) and not request.refetch:
            resume = await runs.unfinished_backfill_start(conn, arguments)
            if resume is not None:
                log.info("backfill.resuming", unfinished_run_started_at=resume.isoformat())
                request = BackfillRequest(request.period, resume_from=resume)
        await runs.start_run(conn, run_id, command, arguments, utc_now(clock), selection.shard)
    log.info("run.started", command=command, sources=len(pairs), **arguments)
    if not pairs:
        log.warning("run.empty", reason="no source is selected (or in this shard)")
    report = RunReport(run_id, "running", shard=selection.shard)
    try:
        report.sources = await _run_sources(
            settings, pool, run_id, pairs, request, progress, clock, stop or asyncio.Event()
        )
        report.outcome = _outcome(report.sources)
    except asyncio.CancelledError:
        report.outcome = "interrupted"
        raise
    finally:
        await _record_end(pool, report, clock)
    return report


def _outcome(sources: list[SourceResult]) -> str:
    outcomes = {r.outcome for r in sources}
    if "failed" in outcomes:
        return "failed"
    return "interrupted" if "interrupted" in outcomes else "succeeded"


async def _run_sources(
    settings: Settings,
    pool: asyncpg.Pool,
    run_id: UUID,
    pairs: list[tuple[AccountBase, str]],
    request: Request,
    progress: Progress,
    clock: Callable[[], float],
    stop: asyncio.Event,
) -> list[SourceResult]:
    runner = SourceRunner(
        pool=pool,
        run_id=run_id,
        clock=clock,
        concurrency=settings.concurrency.windows_per_source,
        progress=progress,
        stop=stop,
        bounds=settings.reads,
    )
    policy = RetryPolicy(**settings.retry.model_dump())
    connector = aiohttp.TCPConnector(ssl=tls_context(settings), limit=0)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        jobs = []
        helpers: dict[str, dict[str, Pacer]] = {}
        key = settings.redaction.required_key()
        for account, api in pairs:
            vendor = VENDORS[account.vendor]
            # One limiter per account and helper API, shared by every source that calls it.
            shared = helpers.setdefault(
                account.name,
                {h: StrictPacer(rate_for(account, h)) for h in vendor.helper_apis},
            )
            call = Transport(
                session=session,
                client=vendor.make_client(account),
                api=api,
                limiter=StrictPacer(rate_for(account, api)),
                helper_limiters=shared,
                policy=policy,
                timeout=settings.http.timeout_seconds,
                clock=clock,
                max_body_bytes=settings.reads.max_body_bytes,
                max_decoded_bytes=settings.reads.max_decoded_bytes,
            )
            source = vendor.sources[api]
            redactor = Redactor(key, source.redaction | account.redact.declared())
            jobs.append(Job(SourceKey(vendor.name, account.name, api), source, call, redactor))
        return list(await asyncio.gather(*(runner.run(job, request) for job in jobs)))


async def _record_end(pool: asyncpg.Pool, report: RunReport, clock: Callable[[], float]) -> None:
    totals: dict[str, Any] = {"sources": len(report.sources)}
    for key in (
        "tasks_seen",
        "tasks_inserted",
        "tasks_changed",
        "tasks_rejected",
        "tasks_deleted",
        "requests",
        "retries",
        "hedges",
    ):
        totals[key] = sum(r.as_dict()[key] for r in report.sources)
    failed = [r for r in report.sources if r.outcome == "failed"]
    error = "; ".join(f"{r.key}: {r.error_code}: {r.error_message}" for r in failed) or None
    async with pool.acquire() as conn:
        await runs.finish_run(conn, report.run_id, report.outcome, totals, error, utc_now(clock))
    log.info("run.finished", outcome=report.outcome, **totals)
