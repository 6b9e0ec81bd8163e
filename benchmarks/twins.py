"""The twins a benchmark serves: each vendor's indexed twin (its kit's `fast_twin`), holding the
tasks of a `Dataset`. Each twin answers a request by sorting and filtering every task it holds,
so a benchmark would measure the twin instead of the pipeline; the indexed ones (in each vendor's
folder, fast_twin.py) answer the same at about one page of work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.accounts import kits
from benchmarks.datasets import Dataset
from pipeline.sandbox.twin import Twin
from pipeline.vendors import VENDORS


def build_twins(
    data: Dataset, credentials: Mapping[str, Any], rates: Mapping[str, float] | None = None
) -> dict[str, Twin]:
    """The twins of the vendors that have tasks in `data`, keyed by vendor name.

    `credentials` holds each vendor's twin credentials; `rates` raises (or lowers) the documented
    rate of the actions it names.
    """
    twins: dict[str, Twin] = {}
    for vendor, kit in kits().items():
        tasks = {api: data.tasks(api) for api in VENDORS[vendor].sources if data.count(api)}
        if tasks and kit.bench_twin is not None:
            twins[vendor] = kit.bench_twin(credentials[vendor], tasks)
    for twin in twins.values():
        for action, rate in (rates or {}).items():
            if action in twin.actions:
                twin.limiter.set_rate(action, rate)
    return twins
