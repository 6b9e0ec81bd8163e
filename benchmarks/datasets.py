"""The synthetic tasks a benchmark's twins hold, described as data and generated on demand.

A `Dataset` names, per API, the settings of its vendor kit's `bench_tasks` (`tasks`: how many,
and the vendor's own, e.g. how many days they span); the kits' `bench_sizes` hold the full and
quick ones. The sandbox child generates the tasks from a `Dataset`; the parent can generate the
very same ones again (every generator is seeded and takes `now`), for instance to count the
requests a sync needs at the least, without asking the child.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks.accounts import kit_of, kits

Tasks = list[dict[str, Any]]
Sizes = Mapping[str, Mapping[str, int]]
"""Per API, the settings of its kit's `bench_tasks`."""


def kit_sizes(scale: str) -> dict[str, dict[str, int]]:
    """Every API's settings at `scale` ("full", "quick"), from the vendors' kits."""
    return {
        api: dict(settings)
        for kit in kits().values()
        for api, settings in kit.bench_sizes.get(scale, {}).items()
    }


@dataclass(frozen=True, slots=True)
class Dataset:
    """Tasks per vendor API, generated around `now` (Unix seconds); an API not named is empty."""

    now: int
    sizes: Sizes = field(default_factory=dict)
    seed: int = 5

    def count(self, api: str) -> int:
        """How many tasks `api` holds, as its settings name them."""
        return self.sizes.get(api, {}).get("tasks", 0)

    def tasks(self, api: str) -> Tasks:
        """The tasks of `api`, from its vendor kit's generator."""
        if not self.count(api):
            return []
        generate = kit_of(api).bench_tasks
        if generate is None:
            raise ValueError(f"no benchmark tasks for {api}")
        return generate(api, self.now, self.seed, **self.sizes[api])
