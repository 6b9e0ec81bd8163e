"""The scale benchmark's accounts: many small ones per API, each on a twin of its own.

A twin's limiter counts per credential, and every twin of a kit knows the same fake one, so two
accounts on one twin would share its limit; one twin per account (one sandbox group each, all in
the one sandbox child) gives every account the whole documented rate, as separate customers'
accounts at a real vendor have.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.accounts import kit_of, vendor_of, write_accounts_config
from benchmarks.datasets import Dataset, Sizes
from benchmarks.sandbox_process import RemoteFleet
from pipeline.shards import Shard, shard_of, unit_of
from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase


@dataclass(frozen=True, slots=True)
class ScaleAccount:
    """One account syncing one API; its name is also its twin's sandbox group."""

    name: str
    api: str
    data: Dataset

    @property
    def vendor(self) -> str:
        return vendor_of(self.api)

    @property
    def source(self) -> str:
        """The source as the report names it."""
        return f"{self.name}/{self.api}"

    def rated_apis(self) -> list[str]:
        """The API and the vendor's helper APIs: each has a limit of its own at the twin."""
        return [self.api, *VENDORS[self.vendor].helper_apis]

    def tasks(self) -> int:
        """How many tasks a complete backfill stores from its twin, by the kit's own rule: a kit
        may add a few to the size it is asked for, and the twin holds a repeated id once."""
        kit = kit_of(self.api)
        assert kit.bench_twin is not None
        twin = kit.bench_twin(kit.credentials, {self.api: self.data.tasks(self.api)})
        return len(kit.stored(twin, self.data.now)[self.api])

    def config(self, url: str, rate: float | None) -> AccountBase:
        """The account as configured; `rate` None: every documented limit, else all at `rate`."""
        rates = {} if rate is None else dict.fromkeys(self.rated_apis(), rate)
        return kit_of(self.api).account(url, self.name, apis=[self.api], rate_limits=rates)


def varied(settings: Mapping[str, int], factor: float) -> dict[str, int]:
    """`settings` with `tasks` scaled by `factor`, kept a multiple of the days it spreads over:
    Tencent's record tasks spread evenly over `days_back` + `days_ahead`."""
    days = sum(value for key, value in settings.items() if key.startswith("days_")) or 1
    return {**settings, "tasks": max(days, round(settings["tasks"] * factor / days) * days)}


def layout(
    apis: Sequence[str],
    per_api: int,
    sizes: Sizes,
    growth: float,
    spread: float,
    seed: int,
    now: int,
) -> list[ScaleAccount]:
    """`per_api` accounts per API, each `growth` times the API's size in `sizes`, varied by up to
    `spread` either way (seeded: the same accounts on every run)."""
    rng = random.Random(seed)
    accounts = []
    for api in apis:
        for index in range(per_api):
            factor = growth * rng.uniform(1 - spread, 1 + spread)
            data = Dataset(now, {api: varied(sizes[api], factor)}, seed=seed + len(accounts))
            accounts.append(ScaleAccount(f"scale-{api}-{index:02d}", api, data))
    return accounts


def fleet_groups(accounts: Sequence[ScaleAccount]) -> dict[str, Dataset]:
    """The sandbox child's groups: one per account, holding that account's tasks only."""
    return {account.name: account.data for account in accounts}


def write_scale_config(
    path: Path,
    fleet: RemoteFleet,
    accounts: Sequence[ScaleAccount],
    rate: float | None,
    pool_size: int | None = None,
) -> Path:
    """One config.yaml of every account on its own twin; `rate` None: the documented limits;
    `pool_size` caps each worker's connections."""
    configured = [a.config(fleet.url(a.name, a.vendor), rate) for a in accounts]
    return write_accounts_config(path, configured, pool_size)


async def raise_limits(fleet: RemoteFleet, accounts: Sequence[ScaleAccount], rate: float) -> None:
    """Tell every account's twin to allow `rate` for each API it limits."""
    for account in accounts:
        for api in account.rated_apis():
            await fleet.set_rate(account.name, account.vendor, api, rate)


def shard_of_source(account: ScaleAccount, count: int) -> int:
    """The shard among `count` whose worker runs `account`'s source, by the pipeline's rule."""
    return shard_of(unit_of(account.vendor, account.name, account.api), count)


def empty_shard(accounts: Sequence[ScaleAccount]) -> Shard:
    """A shard that owns none of the sources: its worker does all a worker does but sync.

    Among more shards than sources one always owns none."""
    count = len(accounts) + 1
    taken = {shard_of_source(account, count) for account in accounts}
    return Shard(min(set(range(count)) - taken), count)
