"""The Volcengine twin offline: its fake credentials, synthetic tasks, an account, changes."""

from __future__ import annotations

from pydantic import SecretStr

from pipeline.vendors.base import Change, Sandbox, twin_account
from pipeline.vendors.volcengine import bench
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.fast_twin import IndexedVolcengine
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox

ACCESS_KEY_ID, SECRET_ACCESS_KEY = "AKLTdemo00000000000000000", "demo-volc-key"  # fake
TASKS_PER_DAY = 15  # per record task a day: 600 beside the demo's 40 a day


account = twin_account(
    VolcengineAccount,
    "volcengine",
    access_key_id=ACCESS_KEY_ID,
    secret_access_key=SecretStr(SECRET_ACCESS_KEY),
)


def fill(twin: VolcengineSandbox, now: int, per_day: int, days_back: int, seed: int) -> int:
    """Pull-record tasks around `now` (the generator decides their times)."""
    twin.add_tasks(generate_pull_record_tasks(now, count=TASKS_PER_DAY * per_day, seed=seed))
    return len(twin.tasks)


def stored(twin: VolcengineSandbox, now: int) -> dict[str, list[str]]:
    """The whole list: it has no window."""
    return {"ListPullRecordTask": sorted(twin.tasks)}


def change(twin: VolcengineSandbox, now: int) -> list[Change]:
    """One task in force disabled."""
    task_id = next(t for t, r in twin.tasks.items() if r["Status"] == "生效中")
    twin.update_task(task_id, Status="停用")
    return [Change(task_id, "running", "stopped")]


SANDBOX = Sandbox(
    twin=VolcengineSandbox,
    credentials={ACCESS_KEY_ID: SECRET_ACCESS_KEY},
    account=account,
    fill=fill,
    stored=stored,
    change=change,
    fast_twin=IndexedVolcengine,
    bench_sizes=bench.SIZES,
    bench_tasks=bench.bench_tasks,
    bench_twin=bench.bench_twin,
    minimum=bench.minimum,
)
