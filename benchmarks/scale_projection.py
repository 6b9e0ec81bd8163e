"""From the scale rounds to a fleet: accounts per worker, and workers per number of accounts.

A worker runs all its sources at once, each paced at its own account's limit, so the vendors'
rates bound how long one account's sync takes, not how many accounts a worker holds; a worker
is one process, so at most one core, and its CPU is what runs out. Over a schedule of S seconds
a worker may spend B = budget x S CPU seconds; F is what a worker spends with nothing to sync:

    accounts per worker  = floor((B - F) / a)        a: CPU s per account of a no-change sync
    workers for A        = ceil(A x r x c / 1000 / (B - F))
                                                     r: records per account per sync,
                                                     c: CPU s per 1,000 records (limits raised)

Connections bound how many of a worker's windows run at once (a window holds one while it
reads), not how many sources it may hold: with P connections (`database.pool_size`), about P - 2
sources read at a time, each for about its no-change sync's minimum m, so

    accounts per worker  <= floor((P - 2) x S / m)

and N workers on one server need N x P <= its max_connections (less a reserve). Pure.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


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
    pool_size: int
    """A worker's connections at most (`database.pool_size`, its default)."""
    connection_reserve: int
    """Connections of the server left to everyone else."""
    max_connections: int
    """The server's: N workers' pools together must fit in it."""
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
    def accounts_per_worker_connections(self) -> int:
        """Accounts one worker syncs within the schedule, about P - 2 at a time."""
        return math.floor((self.pool_size - 2) * self.schedule_seconds / self.sync_minimum_mean)

    @property
    def accounts_per_worker(self) -> int:
        """Accounts one worker serves: its CPU's bound or its pool's, whichever is lower."""
        return min(self.accounts_per_worker_cpu, self.accounts_per_worker_connections)

    def pool_each(self, workers: int) -> int:
        """Each worker's `database.pool_size` for `workers` of them on this server."""
        return min(self.pool_size, (self.max_connections - self.connection_reserve) // workers)

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
        """The fewest workers whose connections let `accounts` sync within the schedule."""
        return max(1, math.ceil(accounts / self.accounts_per_worker_connections))

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
            "pool_each": self.pool_each(workers),
            "connections": workers * self.pool_each(workers),
            "pool_too_small": self.pool_each(workers) < 3,
        }

    def rows(self) -> list[dict[str, Any]]:
        return [self.row(accounts) for accounts in self.accounts]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "budget_seconds": self.budget_seconds,
            "accounts_per_worker_cpu": self.accounts_per_worker_cpu,
            "accounts_per_worker_connections": self.accounts_per_worker_connections,
            "accounts_per_worker": self.accounts_per_worker,
            "accounts_one_after_another": self.accounts_one_after_another,
            "rows": self.rows(),
        }
