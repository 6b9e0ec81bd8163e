"""From the scale rounds to a fleet: accounts per worker, and workers per number of accounts.

A worker runs all its sources at once, each paced at its own account's limit, so the vendors'
rates bound how long one account's sync takes, not how many accounts a worker holds; a worker
is one process, so at most one core, and its CPU is what runs out. Over a schedule of S seconds
a worker may spend B = budget x S CPU seconds; F is what a worker spends with nothing to sync:

    accounts per worker  = floor((B - F) / a)        a: CPU s per account of a no-change sync
    workers for A        = ceil(A x r x c / 1000 / (B - F))
                                                     r: records per account per sync,
                                                     c: CPU s per 1,000 records (limits raised)

Connections bound it too: each source holds a pooled connection for its lock through its whole
run, and a worker's pool has a cap, so a worker whose shard holds as many sources as its pool
has connections waits forever (64 sources on a pool of 60 did); the shards' hash fills some
workers more than others, so the fullest shard counts. Pure.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.shards import shard_of


@dataclass(frozen=True, slots=True)
class Projection:
    """The measured inputs of the formulas, and the sizes to project to."""

    schedule_seconds: float
    cpu_budget: float
    """The share of the schedule a worker may spend on CPU: the rest is room for retries, a
    slow vendor, a backlog after an outage."""
    floor_cpu_seconds: float
    sync_cpu_per_account: float
    """CPU s per account of the 1-worker no-change sync, the floor taken out."""
    sync_records_per_account: float
    sync_minimum_max: float
    """The slowest account's no-change sync at its documented limits, in seconds."""
    sync_minimum_mean: float
    backfill_records_per_account: float
    cpu_per_1000_records: float
    """CPU s per 1,000 records of the 1-worker round with limits raised, the floor taken out."""
    sources_per_worker_cap: int
    """The most sources a worker's pool leaves a connection beyond their locks for."""
    max_connections: int
    """The server's: accounts syncing at once hold at least one connection each."""
    accounts: tuple[int, ...]

    @property
    def budget_seconds(self) -> float:
        """CPU seconds a worker may spend per schedule period, less its floor."""
        return self.cpu_budget * self.schedule_seconds - self.floor_cpu_seconds

    @property
    def accounts_per_worker_cpu(self) -> int:
        """Accounts one worker syncs within the schedule, bounded by its CPU alone."""
        return math.floor(self.budget_seconds / self.sync_cpu_per_account)

    @property
    def accounts_per_worker(self) -> int:
        """Accounts one worker serves: its CPU's bound or its pool's, whichever is lower."""
        return min(self.accounts_per_worker_cpu, self.sources_per_worker_cap)

    @property
    def accounts_one_after_another(self) -> int:
        """Accounts within the schedule if a worker synced them one after another at their
        documented limits: the bound a worker with no concurrency would have."""
        return math.floor(self.schedule_seconds / self.sync_minimum_mean)

    def workers_from_records(self, accounts: int, records_per_account: float) -> int:
        """Workers for `accounts` reading `records_per_account` each per schedule period."""
        cpu = accounts * records_per_account * self.cpu_per_1000_records / 1000
        return max(1, math.ceil(cpu / self.budget_seconds))

    def workers_for_connections(self, accounts: int) -> int:
        """The fewest workers whose fullest shard of `accounts` (one API each) stays within
        the cap, by the pipeline's own hash over made-up account names."""
        workers = max(1, math.ceil(accounts / self.sources_per_worker_cap))
        while True:
            shards = Counter(shard_of(f"account-{i:05d}/api", workers) for i in range(accounts))
            if max(shards.values()) <= self.sources_per_worker_cap:
                return workers
            workers += 1

    def row(self, accounts: int) -> dict[str, Any]:
        """The workers `accounts` need by each measure; the answer is the largest."""
        by_cpu = max(1, math.ceil(accounts / self.accounts_per_worker_cpu))
        by_connections = self.workers_for_connections(accounts)
        workers = max(by_cpu, by_connections)
        return {
            "accounts": accounts,
            "sync_cpu_seconds": accounts * self.sync_cpu_per_account,
            "workers_measured_sync": by_cpu,
            "workers_sync_records": self.workers_from_records(
                accounts, self.sync_records_per_account
            ),
            "workers_full_reread": self.workers_from_records(
                accounts, self.backfill_records_per_account
            ),
            "workers_connections": by_connections,
            "workers": workers,
            "connections": accounts + workers,
            "over_max_connections": accounts + workers > self.max_connections,
        }

    def rows(self) -> list[dict[str, Any]]:
        return [self.row(accounts) for accounts in self.accounts]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "budget_seconds": self.budget_seconds,
            "accounts_per_worker_cpu": self.accounts_per_worker_cpu,
            "accounts_per_worker": self.accounts_per_worker,
            "accounts_one_after_another": self.accounts_one_after_another,
            "rows": self.rows(),
        }
