"""Incremental cost: the requests of a sync right after a backfill, against the fewest possible."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.apirun import ApiRun
from benchmarks.datasets import Dataset
from benchmarks.minimums import Minimum, minimum_of


def minimum_for(api: str, data: Dataset, last_read: float, now: float) -> Minimum:
    """The fewest requests a sync of `api` at `now` needs after a complete read at `last_read`."""
    return minimum_of(api, data.tasks(api), last_read, now)


@dataclass(frozen=True, slots=True)
class IncrementalResult:
    """A no-change sync of one API and the minimum it is compared with."""

    sync: ApiRun
    minimum: Minimum

    @property
    def ratio(self) -> float:
        """Requests sent per request needed (1.0: nothing wasted)."""
        return self.sync.requests / self.minimum.requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "api": self.sync.api,
            "requests": self.sync.requests,
            "minimum": asdict(self.minimum),
            "ratio": self.ratio,
            "sync": self.sync.as_dict(),
        }


def incremental(backfill: ApiRun, sync: ApiRun, data: Dataset) -> IncrementalResult:
    """Compare `sync`, run right after `backfill` with no change at the vendor, with the minimum.

    The backfill's start stands for its last read (each window is read a little later, so the
    minimum may count a few seconds' more tasks than strictly needed).
    """
    minimum = minimum_for(sync.api, data, backfill.started_at, sync.started_at)
    return IncrementalResult(sync, minimum)
