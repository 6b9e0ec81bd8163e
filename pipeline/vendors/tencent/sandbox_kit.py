"""The Tencent twin offline: its fake credentials, synthetic tasks, an account on it, changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import SecretStr

from pipeline.vendors.base import Change, Sandbox, twin_account
from pipeline.vendors.tencent import bench
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.fast_twin import IndexedTencent
from pipeline.vendors.tencent.record_tasks import RULES
from pipeline.vendors.tencent.sandbox import TencentSandbox

SECRET_ID, SECRET_KEY = "AKIDdemo0000000000000000000000000000", "demo-tencent-key"  # fake
RELAY_PER_DAY = 3  # relay tasks per record task a day: 120 beside the demo's 40 a day


account = twin_account(
    TencentAccount, "tencent", secret_id=SECRET_ID, secret_key=SecretStr(SECRET_KEY)
)


def fill(twin: TencentSandbox, now: int, per_day: int, days_back: int, seed: int) -> int:
    """Record tasks `per_day` from `days_back` days ago to a week ahead, and relay tasks."""
    twin.add_record_tasks(generate_record_tasks(now, days_back, per_day=per_day, seed=seed))
    twin.add_pull_tasks(generate_pull_tasks(now, count=RELAY_PER_DAY * per_day, seed=seed))
    return len(twin.record_tasks) + len(twin.pull_tasks)


def stored(twin: TencentSandbox, now: int) -> dict[str, list[str]]:
    """Record tasks within the planner's reach back; every relay task."""
    oldest = now - RULES.reach_back.total_seconds()
    records = [t["TaskId"] for t in twin.record_tasks.values() if t["StartTime"] >= oldest]
    return {
        "DescribeRecordTask": sorted(records),
        "DescribeLivePullStreamTasks": sorted(twin.pull_tasks),
    }


def change(twin: TencentSandbox, now: int) -> list[Change]:
    """Two running record tasks stopped; one running relay task paused, another deleted."""
    running = [t for t in twin.record_tasks.values() if t["StartTime"] < now < t["EndTime"]]
    stopped = [t["TaskId"] for t in running if not t["Stopped"]][:2]
    for task_id in stopped:
        twin.stop_record_task(task_id, now - 1)
    # Relay tasks the twin serves as `enable` within their times: running, as Tencent has it.
    paused, deleted = sorted(
        t for t, r in twin.pull_tasks.items() if r["Status"] == "enable" and _within(r, now)
    )[:2]
    twin.update_pull_task(paused, Status="pause")
    twin.delete_pull_task(deleted)
    return [
        *(Change(task_id, "running", "stopped") for task_id in stopped),
        Change(paused, "running", "stopped"),
        Change(deleted, "running", "running", deleted=True),  # the status last seen stays
    ]


def _within(task: dict[str, Any], now: int) -> bool:
    start, end = (datetime.fromisoformat(task[k]).timestamp() for k in ("StartTime", "EndTime"))
    return start <= now < end


SANDBOX = Sandbox(
    twin=TencentSandbox,
    credentials={SECRET_ID: SECRET_KEY},
    account=account,
    fill=fill,
    stored=stored,
    change=change,
    fast_twin=IndexedTencent,
    bench_sizes=bench.SIZES,
    bench_tasks=bench.bench_tasks,
    bench_twin=bench.bench_twin,
    bench_configured=bench.CONFIGURED,
    minimum=bench.minimum,
)
