"""`pipeline demo`: the whole job offline, against the built-in sandboxes of every vendor."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import SecretStr

from pipeline.commands import FAR_FUTURE, choose_progress, open_pool, report_failures
from pipeline.config import DatabaseSettings, RedactionSettings, RetrySettings, Settings
from pipeline.db.sqlfiles import query
from pipeline.logs import configure_logging
from pipeline.periods import Period
from pipeline.planning.sources import BackfillRequest, Request, SyncRequest
from pipeline.runner import RunReport, Selection, execute
from pipeline.sandbox.faults import FaultPlan
from pipeline.vendors import VENDORS
from pipeline.vendors.base import Sandbox, Vendor

# The key of the demo's digests of the sandboxes' made-up push signatures and URL tokens.
DEMO_REDACTION = RedactionSettings(key=SecretStr("pipeline-demo-redaction-key"))
SUMMARY_DAYS = 14
# The demo shows retries; it does not wait minutes for them.
DEMO_RETRY = RetrySettings(attempts=10, initial_wait=0.1, max_wait=2, total_timeout=120)


@dataclass(frozen=True)
class DemoTwin:
    """One vendor's twin in the demo, with the kit that made it."""

    vendor: Vendor
    kit: Sandbox
    twin: Any

    @property
    def account_name(self) -> str:
        return f"demo-{self.vendor.name}"


def build_twins(now: int, args: argparse.Namespace) -> list[DemoTwin]:
    """Every registered vendor's sandbox with synthetic tasks, faulty at `--faults` if asked."""
    twins = []
    for seed, vendor in enumerate((v for v in VENDORS.values() if v.sandbox), start=1):
        kit = vendor.sandbox
        assert kit is not None
        faults = FaultPlan.random(args.faults, seed=seed) if args.faults else None
        twin = kit.twin(credentials=kit.credentials, faults=faults)
        kit.fill(twin, now, args.per_day, args.days, 1)
        twins.append(DemoTwin(vendor, kit, twin))
    return twins


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


async def demo_command(args: argparse.Namespace) -> int:
    """The `demo` command: logs at warning level, then the demo."""
    configure_logging(
        json=None if args.log_format is None else args.log_format == "json", level="warning"
    )
    return await run_demo(args)


async def run_demo(args: argparse.Namespace) -> int:
    now = int(time.time())
    twins = build_twins(now, args)
    async with AsyncExitStack() as stack:
        accounts = []
        for t in twins:
            server = await stack.enter_async_context(t.twin.serve())
            accounts.append(t.kit.account(server.url, t.account_name))
        settings = Settings(
            accounts=tuple(accounts),
            retry=DEMO_RETRY,
            redaction=DEMO_REDACTION,
            database=DatabaseSettings(embedded=True),  # unless PIPELINE_DATABASE_URL is set
        )
        faulty = f", {args.faults:.0%} of their answers faulty" if args.faults else ""
        print(
            f"pipeline demo: {_listed([t.vendor.title for t in twins])} sandboxes on loopback"
            f"{faulty}; backfilling {args.days} days at each API's documented rate"
        )
        key = settings.redaction.required_key()
        async with open_pool(settings.database, upgrade=True, redaction_key=key) as pool:
            report = await _run(pool, settings, args, _backfill_request(now, args.days))
            report_failures(report)
            changed = sum(len(t.kit.change(t.twin, now)) for t in twins)
            print(f"\nthe vendors changed {changed} tasks; a sync picks the changes up:")
            report = await _run(pool, settings, args, SyncRequest())
            report_failures(report)
            print(await summary(pool, twins[0]))
    faults = sum(1 for t in twins for r in t.twin.requests if r.outcome != "ok")
    requests = sum(len(t.twin.requests) for t in twins)
    retries = sum(r.retries for r in report.sources)
    print(
        f"\n{requests} requests to the sandboxes, {faults} refused or faulty, {retries} retried;"
        f" run {report.run_id}: {report.outcome}"
    )
    return report.exit_code


def _backfill_request(now: int, days: int) -> BackfillRequest:
    since = datetime.fromtimestamp(now, UTC) - timedelta(days=days)
    return BackfillRequest(Period(since, FAR_FUTURE), refetch=True)


async def _run(
    pool: asyncpg.Pool, settings: Settings, args: argparse.Namespace, request: Request
) -> RunReport:
    command = "backfill" if isinstance(request, BackfillRequest) else "sync"
    with choose_progress(args) as progress:
        report = await execute(
            settings=settings,
            pool=pool,
            command=command,
            arguments={"demo": True},
            request=request,
            selection=Selection(),
            progress=progress,
            clock=time.time,
        )
    counts = [r.counts for r in report.sources]
    print(
        f"{command}: {sum(c.seen for c in counts)} task records read, "
        f"{sum(c.inserted for c in counts)} new, {sum(c.changed for c in counts)} changed, "
        f"{sum(c.deleted for c in counts)} no longer listed ({report.outcome})"
    )
    return report


async def summary(pool: asyncpg.Pool, first: DemoTwin) -> str:
    """The first vendor's record tasks per day and status, then every source's by status."""
    days = await pool.fetch(query("tasks_per_day_and_status"), first.account_name, SUMMARY_DAYS)
    lines = [
        "",
        f"{first.vendor.title} record tasks per start day (UTC), latest {SUMMARY_DAYS} days",
        f"{'day':<12}{'scheduled':>10}{'running':>9}{'stopped':>9}{'finished':>10}{'total':>8}",
    ]
    for d in days:
        lines.append(
            f"{d['day']!s:<12}{d['scheduled']:>10}{d['running']:>9}{d['stopped']:>9}"
            f"{d['finished']:>10}{d['total']:>8}"
        )
    lines += ["", "the changes the sync recorded in task_history"]
    for h in await pool.fetch(query("latest_changes"), 8):
        lines.append(
            f"  {h['vendor']:<11}{h['task_id'][:24]:<25}{h['old_status'] or '':>9} -> "
            f"{h['new_status'] or '':<10}{', '.join(h['fields'])}"
        )
    lines += ["", f"{'vendor':<11}{'api':<29}{'status':<11}{'tasks':>7}"]
    for s in await pool.fetch(query("tasks_by_source_and_status")):
        lines.append(f"{s['vendor']:<11}{s['api']:<29}{s['status']:<11}{s['tasks']:>7}")
    return "\n".join(lines)
