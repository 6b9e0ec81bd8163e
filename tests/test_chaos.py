"""Every vendor at a 20% fault rate: a backfill and two syncs still land every task exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from pipeline.config import HttpSettings, RedactionSettings, RetrySettings, Settings
from pipeline.planning.sources import SyncRequest
from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.vendors import VENDORS
from pipeline.vendors.base import Sandbox
from tests.conftest import FAST_RATE, REDACTION_KEY
from tests.runs import backfill_all, run

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
    twins: dict[str, tuple[Sandbox, Any]]
    """Per vendor, its kit and its twin."""
    settings: Settings


CHAOS_PER_DAY = 15


@pytest.fixture
async def vendors(frozen_now: int) -> AsyncIterator[Vendors]:
    """Every registered vendor's twin, faulty, filled, served, with an account on it."""
    now = frozen_now
    twins: dict[str, tuple[Sandbox, Any]] = {}
    for seed, (name, vendor) in enumerate(VENDORS.items(), start=1):
        kit = vendor.sandbox
        assert kit is not None, f"{name} has no sandbox"
        fast = dict.fromkeys(vendor.rated_apis, FAST_RATE)
        twin = kit.twin(
            credentials=kit.credentials, clock=lambda: now, faults=chaos(seed), rate_limits=fast
        )
        kit.fill(twin, now, CHAOS_PER_DAY, 90, 20 + seed)
        twins[name] = kit, twin
    async with AsyncExitStack() as stack:
        accounts = []
        for name, (kit, twin) in twins.items():
            server = await stack.enter_async_context(twin.serve())
            fast = dict.fromkeys(VENDORS[name].rated_apis, FAST_RATE)
            accounts.append(kit.account(server.url, name, rate_limits=fast))
        settings = Settings(
            accounts=tuple(accounts),
            http=HttpSettings(timeout_seconds=0.25),
            retry=RetrySettings(attempts=12, initial_wait=0.001, max_wait=0.01, total_timeout=60),
            redaction=RedactionSettings(key=SecretStr(REDACTION_KEY)),
        )
        yield Vendors(twins, settings)


async def stored(pool: asyncpg.Pool) -> dict[str, list[str]]:
    rows = await pool.fetch("SELECT api, task_id FROM tasks ORDER BY api, task_id")
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r["api"], []).append(r["task_id"])
    return found


def expected(v: Vendors, now: int) -> dict[str, list[str]]:
    """What a complete backfill at `now` stores from every twin, per API."""
    found: dict[str, list[str]] = {}
    for kit, twin in v.twins.values():
        found |= kit.stored(twin, now)
    return found


async def test_every_task_lands_once_and_history_matches_the_changes(
    pool: asyncpg.Pool, vendors: Vendors, frozen_now: int
) -> None:
    now, v = frozen_now, vendors
    report = await run(pool, v.settings, backfill_all(now), now)
    assert report.outcome == "succeeded", [(r.key, r.error_code) for r in report.sources]
    assert sum(r.retries for r in report.sources) > 0

    # Deleted tasks stay stored: what the sync must end with is what the backfill could read.
    wanted = expected(v, now)
    changes = [change for kit, twin in v.twins.values() for change in kit.change(twin, now)]
    for _ in range(2):
        report = await run(pool, v.settings, SyncRequest(), now)
        assert report.outcome == "succeeded", [(r.key, r.error_code) for r in report.sources]

    assert await stored(pool) == wanted
    history = await pool.fetch(
        "SELECT task_id, old_status, new_status FROM task_history ORDER BY task_id"
    )
    # Each change as the test made it at the twin; a deletion keeps the status last seen.
    assert sorted(tuple(h) for h in history) == sorted(
        (c.task_id, c.old_status, c.new_status) for c in changes
    )
    for deleted in (c.task_id for c in changes if c.deleted):
        assert await pool.fetchval(
            "SELECT vendor_deleted_at IS NOT NULL FROM tasks WHERE task_id = $1", deleted
        )
