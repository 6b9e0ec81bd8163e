"""`pipeline demo`: the whole job offline, against the built-in sandboxes of every vendor."""

from __future__ import annotations

import argparse
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import SecretStr

from pipeline.commands import FAR_FUTURE, choose_progress, open_pool, report_failures
from pipeline.config import DatabaseSettings, RedactionSettings, RetrySettings, Settings
from pipeline.db.sqlfiles import query
from pipeline.periods import Period
from pipeline.plans import BackfillRequest, Request, SyncRequest
from pipeline.runner import RunReport, Selection, execute
from pipeline.sandbox.faults import FaultPlan
from pipeline.vendors.base import AccountBase
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.zego.account import ZegoAccount
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.sandbox import ZegoSandbox

# The sandboxes' own fake credentials: nothing here reaches a real vendor.
TENCENT_ID, TENCENT_KEY = "AKIDdemo0000000000000000000000000000", "demo-tencent-key"
VOLC_AK, VOLC_SK = "AKLTdemo00000000000000000", "demo-volc-key"
ZEGO_APP, ZEGO_SECRET = 1000000001, "demo-zego-secret"
# The key of the demo's digests of the sandboxes' made-up push signatures and URL tokens.
DEMO_REDACTION = RedactionSettings(key=SecretStr("pipeline-demo-redaction-key"))
SUMMARY_DAYS = 14
# The demo shows retries; it does not wait minutes for them.
DEMO_RETRY = RetrySettings(attempts=10, initial_wait=0.1, max_wait=2, total_timeout=120)

Twin = TencentSandbox | VolcengineSandbox | ZegoSandbox


def build_twins(now: int, args: argparse.Namespace) -> list[Twin]:
    """The three vendors' sandboxes with synthetic tasks, faulty at `--faults` if asked."""

    def faults(seed: int) -> FaultPlan | None:
        return FaultPlan.random(args.faults, seed=seed) if args.faults else None

    tencent = TencentSandbox(credentials={TENCENT_ID: TENCENT_KEY}, faults=faults(1))
    tencent.add_record_tasks(generate_record_tasks(now, days_back=args.days, per_day=args.per_day))
    tencent.add_pull_tasks(generate_pull_tasks(now, count=120))
    volc = VolcengineSandbox(credentials={VOLC_AK: VOLC_SK}, faults=faults(2))
    volc.add_tasks(generate_pull_record_tasks(now, count=600))
    zego = ZegoSandbox(credentials={ZEGO_APP: ZEGO_SECRET}, faults=faults(3))
    zego.add_tasks(generate_zego_tasks(now, count=400))
    return [tencent, volc, zego]


def demo_accounts(urls: list[str]) -> tuple[AccountBase, ...]:
    tencent, volc, zego = urls
    return (
        TencentAccount(
            name="demo-tencent",
            vendor="tencent",
            secret_id=TENCENT_ID,
            secret_key=SecretStr(TENCENT_KEY),
            endpoint=tencent,
        ),
        VolcengineAccount(
            name="demo-volc",
            vendor="volcengine",
            access_key_id=VOLC_AK,
            secret_access_key=SecretStr(VOLC_SK),
            endpoint=volc,
        ),
        ZegoAccount(
            name="demo-zego",
            vendor="zego",
            app_id=ZEGO_APP,
            server_secret=SecretStr(ZEGO_SECRET),
            endpoint=zego,
        ),
    )


async def run_demo(args: argparse.Namespace) -> int:
    now = int(time.time())
    twins = build_twins(now, args)
    async with AsyncExitStack() as stack:
        servers = [await stack.enter_async_context(twin.serve()) for twin in twins]
        settings = Settings(
            accounts=demo_accounts([s.url for s in servers]),
            retry=DEMO_RETRY,
            redaction=DEMO_REDACTION,
            database=DatabaseSettings(embedded=True),  # unless PIPELINE_DATABASE_URL is set
        )
        faulty = f", {args.faults:.0%} of their answers faulty" if args.faults else ""
        print(
            f"pipeline demo: Tencent, Volcengine and ZEGO sandboxes on loopback{faulty}; "
            f"backfilling {args.days} days at each API's documented rate"
        )
        key = settings.redaction.required_key()
        async with open_pool(settings.database, upgrade=True, redaction_key=key) as pool:
            report = await _run(pool, settings, args, _backfill_request(now, args.days))
            report_failures(report)
            changed = change_some_tasks(twins, now)
            print(f"\nthe vendors changed {changed} tasks; a sync picks the changes up:")
            report = await _run(pool, settings, args, SyncRequest())
            report_failures(report)
            print(await summary(pool))
    faults = sum(1 for twin in twins for r in twin.requests if r.outcome != "ok")
    requests = sum(len(twin.requests) for twin in twins)
    retries = sum(r.retries for r in report.sources)
    print(
        f"\n{requests} requests to the sandboxes, {faults} refused or faulty, {retries} retried;"
        f" run {report.run_id}: {report.outcome}"
    )
    return report.exit_code


def _backfill_request(now: int, days: int) -> BackfillRequest:
    since = datetime.fromtimestamp(now, UTC) - timedelta(days=days)
    return BackfillRequest(Period(since, FAR_FUTURE), refetch=True)


def change_some_tasks(twins: list[Twin], now: int) -> int:
    """What a day at the vendors looks like: tasks stopped, paused, ended and deleted."""
    tencent, volc, zego = twins
    assert isinstance(tencent, TencentSandbox) and isinstance(volc, VolcengineSandbox)
    assert isinstance(zego, ZegoSandbox)
    running = [t for t in tencent.record_tasks.values() if t["StartTime"] < now < t["EndTime"]]
    stopped = [t["TaskId"] for t in running if not t["Stopped"]][:2]
    for task_id in stopped:
        tencent.stop_record_task(task_id, now)
    enabled = sorted(t for t, r in tencent.pull_tasks.items() if r["Status"] == "enable")
    tencent.update_pull_task(enabled[0], Status="pause")
    tencent.delete_pull_task(enabled[1])
    volc.update_task(
        next(t for t, r in volc.tasks.items() if r["Status"] == "生效中"), Status="停用"
    )
    zego.set_status(next(t for t, r in zego.tasks.items() if r["Status"] == 2), 3)
    return len(stopped) + 4


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


async def summary(pool: asyncpg.Pool) -> str:
    """Tencent record tasks per day and status, then every source's tasks by status."""
    days = await pool.fetch(query("tasks_per_day_and_status"), "demo-tencent", SUMMARY_DAYS)
    lines = [
        "",
        f"Tencent record tasks per start day (UTC), latest {SUMMARY_DAYS} days",
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
