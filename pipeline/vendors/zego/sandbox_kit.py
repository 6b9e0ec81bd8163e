"""The ZEGO twin offline: its fake credentials, synthetic tasks, an account on it, changes."""

from __future__ import annotations

from pydantic import SecretStr

from pipeline.vendors.base import Change, Sandbox, twin_account
from pipeline.vendors.zego import bench
from pipeline.vendors.zego.account import ZegoAccount
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.fast_twin import IndexedZego
from pipeline.vendors.zego.sandbox import ZegoSandbox

APP_ID, SERVER_SECRET = 1000000001, "demo-zego-secret"  # fake
TASKS_PER_DAY = 10  # per record task a day: 400 beside the demo's 40 a day
SERVED_DAYS = 3  # ZEGO lists recordings of the last 3 days
PLANNER_MARGIN = 600  # seconds of those the planner leaves out


account = twin_account(ZegoAccount, "zego", app_id=APP_ID, server_secret=SecretStr(SERVER_SECRET))


def fill(twin: ZegoSandbox, now: int, per_day: int, days_back: int, seed: int) -> int:
    """Recordings begun in the 3 days ZEGO serves."""
    twin.add_tasks(generate_zego_tasks(now, count=TASKS_PER_DAY * per_day, seed=seed))
    return len(twin.tasks)


def stored(twin: ZegoSandbox, now: int) -> dict[str, list[str]]:
    """Recordings begun within the 3 days ZEGO serves, less the planner's margin."""
    oldest = (now - SERVED_DAYS * 86_400 + PLANNER_MARGIN) * 1000
    tasks = twin.tasks.values()
    return {
        "DescribeTasks": sorted(t["TaskId"] for t in tasks if t["RecordBeginTimestamp"] >= oldest)
    }


def change(twin: ZegoSandbox, now: int) -> list[Change]:
    """One recording in progress ended."""
    task_id = next(t for t, r in twin.tasks.items() if r["Status"] == 2)
    twin.set_status(task_id, 3)
    return [Change(task_id, "running", "finished")]


SANDBOX = Sandbox(
    twin=ZegoSandbox,
    credentials={APP_ID: SERVER_SECRET},
    account=account,
    fill=fill,
    stored=stored,
    change=change,
    fast_twin=IndexedZego,
    bench_sizes=bench.SIZES,
    bench_tasks=bench.bench_tasks,
    bench_twin=bench.bench_twin,
    minimum=bench.minimum,
)
