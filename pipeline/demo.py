"""`pipeline demo`: the whole job offline, against the built-in Tencent sandbox."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import SecretStr

from pipeline.commands import FAR_FUTURE, choose_progress, open_pool, report_failures
from pipeline.config import Settings
from pipeline.db.sqlfiles import query
from pipeline.periods import Period
from pipeline.plans import BackfillRequest
from pipeline.runner import Selection, execute
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox

ACCOUNT = "demo-tencent"
DEMO_SECRET_ID = "AKIDdemo0000000000000000000000000000"  # noqa: S105 - fake
DEMO_SECRET_KEY = "demo-secret-key-not-real"  # noqa: S105 - the sandbox's own fake credential
SUMMARY_DAYS = 14
RELAY_TASKS = 120


async def run_demo(args: argparse.Namespace) -> int:
    now = int(time.time())
    sandbox = TencentSandbox(credentials={DEMO_SECRET_ID: DEMO_SECRET_KEY})
    sandbox.add_record_tasks(generate_record_tasks(now, days_back=args.days, per_day=args.per_day))
    sandbox.add_pull_tasks(generate_pull_tasks(now, count=RELAY_TASKS))
    async with sandbox.serve() as server:
        account = TencentAccount(
            name=ACCOUNT,
            vendor="tencent",
            secret_id=DEMO_SECRET_ID,
            secret_key=SecretStr(DEMO_SECRET_KEY),
            endpoint=server.url,
        )
        settings = Settings(accounts=(account,))
        since = datetime.fromtimestamp(now, UTC) - timedelta(days=args.days)
        print(
            f"pipeline demo: Tencent sandbox at {server.url} holds {len(sandbox.record_tasks)} "
            f"record tasks and {len(sandbox.pull_tasks)} relay tasks; backfilling {args.days} "
            "days at the documented rates (20 and 30 requests/s)"
        )
        async with open_pool(settings) as pool:
            with choose_progress(args) as progress:
                report = await execute(
                    settings=settings,
                    pool=pool,
                    command="backfill",
                    arguments={"since": since.isoformat(), "demo": True},
                    request=BackfillRequest(Period(since, FAR_FUTURE), refetch=True),
                    selection=Selection(),
                    progress=progress,
                    clock=time.time,
                )
            report_failures(report)
            print(await summary(pool))
    requests = len(sandbox.requests)
    print(f"\n{requests} requests to the sandbox; run {report.run_id}: {report.outcome}")
    return report.exit_code


async def summary(pool: asyncpg.Pool) -> str:
    """Tasks per day and status, newest first, then totals by status."""
    days = await pool.fetch(query("tasks_per_day_and_status"), ACCOUNT, SUMMARY_DAYS)
    lines = [
        "",
        f"tasks per start day (UTC), latest {SUMMARY_DAYS} days",
        f"{'day':<12}{'scheduled':>10}{'running':>9}{'stopped':>9}{'finished':>10}{'total':>8}",
    ]
    for d in days:
        lines.append(
            f"{d['day']!s:<12}{d['scheduled']:>10}{d['running']:>9}{d['stopped']:>9}"
            f"{d['finished']:>10}{d['total']:>8}"
        )
    lines.append("")
    lines.append(f"{'kind':<13}{'status':<11}{'tasks':>7}  first start -> last start")
    for s in await pool.fetch(query("tasks_by_kind_and_status"), ACCOUNT):
        first, last = s["first_start"], s["last_start"]
        lines.append(
            f"{s['kind']:<13}{s['status']:<11}{s['tasks']:>7}  {first:%Y-%m-%d} -> {last:%Y-%m-%d}"
        )
    return "\n".join(lines)
