"""The whole benchmark: which parts run, on which server, and their results as one dict.

The twins of every part that needs them are served by one sandbox child for the whole run; the
parts run one after the other, so no two measurements share the machine.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.database import migrated_template, server_settings
from benchmarks.datasets import Dataset, kit_sizes
from benchmarks.extraction import GROUP, ExtractionConfig, run_extraction
from benchmarks.loader import run_loader_benchmark
from benchmarks.loader_data import LoaderConfig
from benchmarks.memory import API as MEMORY_API
from benchmarks.memory import RAISED_RATE, MemoryConfig, group, run_memory
from benchmarks.pressure import PressureConfig, run_pressure
from benchmarks.report import machine
from benchmarks.sandbox_process import FleetSpec, remote_fleet
from benchmarks.scale import ScaleConfig, run_scale
from benchmarks.scale_accounts import fleet_groups
from benchmarks.status_history import StatusConfig, run_status


@dataclass(frozen=True, slots=True)
class Options:
    """The server to use and the parts to run (None or empty skips a part)."""

    database_url: str
    loader: tuple[LoaderConfig, ...] = (LoaderConfig(), LoaderConfig(rows=1_000_000))
    extraction: ExtractionConfig | None = field(default_factory=ExtractionConfig)
    memory: MemoryConfig | None = field(default_factory=MemoryConfig)
    pressure: PressureConfig | None = None
    scale: ScaleConfig | None = None
    status: StatusConfig | None = None


QUICK_LOADER = (LoaderConfig(rows=2_000, window_rows=500),)
# Tiny accounts, still at the documented rates: a few requests per API.
QUICK_EXTRACTION = ExtractionConfig(sizes=kit_sizes("quick"))
QUICK_MEMORY = MemoryConfig(sizes=(1_000, 5_000))
# The quick sizes themselves: about a second of requests for the slowest account.
QUICK_SCALE = ScaleConfig(growth=1.0)
QUICK_STATUS = StatusConfig(sources=(10, 40), rounds=(5, 50))


def fleet_spec(options: Options, now: int) -> FleetSpec:
    """Every twin the selected parts need, with the tasks each holds."""
    groups: dict[str, Dataset] = {}
    rates: dict[str, dict[str, float]] = {}
    if options.extraction is not None:
        groups[GROUP] = options.extraction.dataset(now)
    if options.memory is not None:
        for size in options.memory.sizes:
            groups[group(size)] = options.memory.dataset(now, size)
            rates[group(size)] = {MEMORY_API: RAISED_RATE}
    if options.scale is not None:
        groups |= fleet_groups(options.scale.accounts(now))
    return FleetSpec(groups, rates)


async def _sandbox_parts(url: str, template: str, options: Options, now: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with remote_fleet(fleet_spec(options, now)) as fleet:
        if options.extraction is not None:
            data = options.extraction.dataset(now)
            extracted = await run_extraction(url, template, fleet, options.extraction, data)
            results["extraction"] = extracted.as_dict()
        if options.memory is not None:
            measured = await run_memory(url, template, fleet, options.memory, now)
            results["memory"] = measured.as_dict()
        if options.scale is not None:
            scaled = await run_scale(url, template, fleet, options.scale, now)
            results["scale"] = scaled.as_dict()
    return results


async def run_suite(options: Options) -> dict[str, Any]:
    """Run the selected parts side by side on one server; a JSON-ready result."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    url = options.database_url
    result: dict[str, Any] = {
        "started_at": started,
        "machine": machine(await server_settings(url)),
        "extraction": None,
        "memory": None,
        "scale": None,
        "status": None,
        "loader": [],
    }
    async with migrated_template(url) as template:
        if any(part is not None for part in (options.extraction, options.memory, options.scale)):
            result |= await _sandbox_parts(url, template, options, int(time.time()))
        if options.pressure is not None:
            result["pressure"] = await run_pressure(url, template, options.pressure)
        if options.status is not None:
            result["status"] = await run_status(url, template, options.status)
        for config in options.loader:
            loaded = await run_loader_benchmark(url, template, config)
            result["loader"].append(loaded.as_dict())
    # Other work on the machine skews every number: keep the evidence with the result.
    result["machine"]["load_average_at_end"] = os.getloadavg()
    return result
