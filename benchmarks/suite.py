"""The whole benchmark: which parts run, on which server, and their results as one dict."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from benchmarks.database import migrated_template, server_settings
from benchmarks.extraction import ExtractionConfig, run_extraction_benchmark
from benchmarks.loader import LoaderConfig, run_loader_benchmark
from benchmarks.report import machine


@dataclass(frozen=True, slots=True)
class Options:
    """The server to use and the parts to run (None skips a part)."""

    database_url: str
    loader: LoaderConfig | None = field(default_factory=LoaderConfig)
    extraction: ExtractionConfig | None = field(default_factory=ExtractionConfig)


QUICK_LOADER = LoaderConfig(rows=2_000, window_rows=500)
QUICK_EXTRACTION = ExtractionConfig(days_back=1, days_ahead=1, per_day=1_000)


async def run_suite(options: Options) -> dict[str, Any]:
    """Run the selected parts side by side on one server; a JSON-ready result."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    url = options.database_url
    result: dict[str, Any] = {
        "started_at": started,
        "machine": machine(await server_settings(url)),
        "loader": None,
        "extraction": None,
    }
    async with migrated_template(url) as template:
        if options.loader is not None:
            loaded = await run_loader_benchmark(url, template, options.loader)
            result["loader"] = loaded.as_dict()
        if options.extraction is not None:
            extracted = await run_extraction_benchmark(url, template, options.extraction)
            result["extraction"] = extracted.as_dict()
    # Other work on the machine skews every number: keep the evidence with the result.
    result["machine"]["load_average_at_end"] = os.getloadavg()
    return result
