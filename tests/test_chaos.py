"""Every vendor at a 20% fault rate: a backfill and two syncs still land every task exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from pipeline.config import HttpSettings, RedactionSettings, RetrySettings, Settings
from pipeline.plans import SyncRequest
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.zego.account import ZegoAccount
from pipeline.vendors.zego.fakedata import generate_zego_tasks
from pipeline.vendors.zego.sandbox import ZegoSandbox
from tests.conftest import FAST_RATE, REDACTION_KEY, SECRET_ID, SECRET_KEY, tencent_account
from tests.runs import backfill_all, reachable, run

RATE = 0.2
KINDS = [
    FaultKind.HTTP_5XX,
    FaultKind.INTERNAL_ERROR,
    FaultKind.RATE_LIMIT,
    FaultKind.RESET,
    FaultKind.TRUNCATED,
    FaultKind.INVALID_JSON,
    FaultKind.SLOW,
]


def chaos(seed: int) -> FaultPlan:
    return FaultPlan.random(RATE, KINDS, seed, slow_seconds=0.5)


@dataclass
class Vendors:
    tencent: TencentSandbox
    volc: VolcengineSandbox
    zego: ZegoSandbox
    settings: Settings


@pytest.fixture
async def vendors(frozen_now: int) -> AsyncIterator[Vendors]:
    now = frozen_now
    tencent = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: now,
        faults=chaos(1),
        rate_limits={"DescribeRecordTask": FAST_RATE, "DescribeLivePullStreamTasks": FAST_RATE},
    )
    tencent.add_record_tasks(generate_record_tasks(now, per_day=15, seed=21))
    tencent.add_pull_tasks(generate_pull_tasks(now, count=45, seed=22))
    volc = VolcengineSandbox(
        credentials={"AKLTchaos": "volc-chaos"},
        clock=lambda: now,
        faults=chaos(2),
        rate_limits={"ListPullRecordTask": FAST_RATE, "GetPullRecordTask": FAST_RATE},
    )
    volc.add_tasks(generate_pull_record_tasks(now, count=1200, seed=23))
    zego = ZegoSandbox(
        credentials={777: "zego-chaos"},
        clock=lambda: now,
        faults=chaos(3),
        rate_limits={"DescribeTasks": FAST_RATE},
    )
    zego.add_tasks(generate_zego_tasks(now, count=300, seed=24))
    async with AsyncExitStack() as stack:
        t, v, z = [await stack.enter_async_context(s.serve()) for s in (tencent, volc, zego)]
        accounts = (
            tencent_account(t.url, apis=("DescribeRecordTask", "DescribeLivePullStreamTasks")),
            VolcengineAccount(
                name="volc",
                vendor="volcengine",
                access_key_id="AKLTchaos",
                secret_access_key=SecretStr("volc-chaos"),
                endpoint=v.url,
                rate_limits={"ListPullRecordTask": FAST_RATE},
            ),
            ZegoAccount(
                name="zego",
                vendor="zego",
                app_id=777,
                server_secret=SecretStr("zego-chaos"),
                endpoint=z.url,
                rate_limits={"DescribeTasks": FAST_RATE},
            ),
        )
        settings = Settings(
            accounts=accounts,
            http=HttpSettings(timeout_seconds=0.25),
            retry=RetrySettings(attempts=12, initial_wait=0.001, max_wait=0.01, total_timeout=60),
            redaction=RedactionSettings(key=SecretStr(REDACTION_KEY)),
        )
        yield Vendors(tencent, volc, zego, settings)


async def stored(pool: asyncpg.Pool) -> dict[str, list[str]]:
    rows = await pool.fetch("SELECT api, task_id FROM tasks ORDER BY api, task_id")
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r["api"], []).append(r["task_id"])
    return found


def expected(v: Vendors, now: int, deleted_pull: str) -> dict[str, list[str]]:
    zego_oldest = (now - 3 * 86_400 + 600) * 1000
    return {
        "DescribeRecordTask": reachable(v.tencent, now),
        "DescribeLivePullStreamTasks": sorted([*v.tencent.pull_tasks, deleted_pull]),
        "ListPullRecordTask": sorted(v.volc.tasks),
        "DescribeTasks": sorted(
            t["TaskId"] for t in v.zego.tasks.values() if t["RecordBeginTimestamp"] >= zego_oldest
        ),
    }


async def test_every_task_lands_once_and_history_matches_the_changes(
    pool: asyncpg.Pool, vendors: Vendors, frozen_now: int
) -> None:
    now, v = frozen_now, vendors
    report = await run(pool, v.settings, backfill_all(now), now)
    assert report.outcome == "succeeded", [(r.key, r.error_code) for r in report.sources]
    assert sum(r.retries for r in report.sources) > 0

    record = next(
        t
        for t in v.tencent.record_tasks.values()
        if t["StartTime"] < now < t["EndTime"] and not t["Stopped"]
    )
    v.tencent.stop_record_task(record["TaskId"], now - 1)
    # Two relay tasks the twin serves as `enable` within their times: running, as Tencent has it.
    paused, deleted = sorted(
        t for t, r in v.tencent.pull_tasks.items() if r["Status"] == "enable" and within(r, now)
    )[:2]
    v.tencent.update_pull_task(paused, Status="pause")
    v.tencent.delete_pull_task(deleted)
    volc_task = next(t for t, r in v.volc.tasks.items() if r["Status"] == "生效中")
    v.volc.update_task(volc_task, Status="停用")
    zego_task = next(t for t, r in v.zego.tasks.items() if r["Status"] == 2)
    v.zego.set_status(zego_task, 3)
    for _ in range(2):
        report = await run(pool, v.settings, SyncRequest(), now)
        assert report.outcome == "succeeded", [(r.key, r.error_code) for r in report.sources]

    assert await stored(pool) == expected(v, now, deleted)
    history = await pool.fetch(
        "SELECT task_id, old_status, new_status FROM task_history ORDER BY task_id"
    )
    # Each change as the test made it at the twin; a deletion keeps the status last seen.
    assert sorted(tuple(h) for h in history) == sorted(
        [
            (record["TaskId"], "running", "stopped"),
            (paused, "running", "stopped"),
            (deleted, "running", "running"),
            (volc_task, "running", "stopped"),
            (zego_task, "running", "finished"),
        ]
    )
    assert await pool.fetchval(
        "SELECT vendor_deleted_at IS NOT NULL FROM tasks WHERE task_id = $1", deleted
    )


def within(task: Mapping[str, Any], now: int) -> bool:
    """A relay task whose start has passed and whose end has not, at `now`."""
    start, end = (datetime.fromisoformat(task[k]).timestamp() for k in ("StartTime", "EndTime"))
    return start <= now < end
