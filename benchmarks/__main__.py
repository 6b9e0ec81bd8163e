"""`python -m benchmarks`: run the selected measurements, print the table, save it as JSON.

With no part named, every part runs: rate efficiency, pipeline ceiling, incremental cost (the
extraction parts, against the twins in a child process), memory, and the loader. Shared quota
(--pressure), scale (--scale) and status (--status) run only when named.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from benchmarks.accounts import apis
from benchmarks.database import admin_url
from benchmarks.extraction import ExtractionConfig
from benchmarks.loader_data import LoaderConfig
from benchmarks.memory import MemoryConfig
from benchmarks.pressure import QUICK_PRESSURE, PressureConfig, render_pressure
from benchmarks.report import render, write_json
from benchmarks.scale import ScaleConfig
from benchmarks.status_history import StatusConfig
from benchmarks.suite import (
    QUICK_EXTRACTION,
    QUICK_LOADER,
    QUICK_MEMORY,
    QUICK_SCALE,
    QUICK_STATUS,
    Options,
    run_suite,
)
from pipeline.runtime import tune_collector

RESULTS = Path(__file__).parent / "results"
# The extraction backfills ask for more than each vendor's reach on purpose.
EXPECTED_WARNINGS = frozenset({"backfill.clamped"})
PARTS = ("rate", "ceiling", "incremental", "memory", "loader")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parts = parser.add_argument_group("parts (none named: all)")
    parts.add_argument("--rate", action="store_true", help="backfill each API at its limit")
    parts.add_argument("--ceiling", action="store_true", help="backfill with limits raised")
    parts.add_argument("--incremental", action="store_true", help="no-change sync after it")
    parts.add_argument("--memory", action="store_true", help="peak RSS of `pipeline backfill`")
    parts.add_argument("--loader", action="store_true", help="loader vs executemany vs COPY")
    parts.add_argument(
        "--pressure",
        action="store_true",
        help="shared quota and stalls (only when named; about a minute)",
    )
    parts.add_argument(
        "--scale",
        action="store_true",
        help="40 accounts split between 1, 2 and 4 `pipeline` workers by shard (only when "
        "named; about 2 minutes)",
    )
    parts.add_argument(
        "--status",
        action="store_true",
        help="`pipeline status` over 100 and 1,000 sources with 10 and 1,000 hourly rounds of "
        "history (only when named; about a minute)",
    )
    sizes = parser.add_argument_group("sizes")
    sizes.add_argument("--quick", action="store_true", help="tiny sizes, to check the runner")
    sizes.add_argument("--api", action="append", choices=apis(), help="extraction: only this API")
    sizes.add_argument("--rows", type=int, nargs="+", help="loader rows (200000 1000000)")
    sizes.add_argument("--window-rows", type=int, help="rows per loader window (20,000)")
    sizes.add_argument("--page-rows", type=int, help="rows per staged page (100)")
    sizes.add_argument("--memory-tasks", type=int, nargs="+", help="account sizes (100000 1000000)")
    sizes.add_argument("--accounts-per-api", type=int, help="scale: accounts per API (10)")
    sizes.add_argument("--workers", type=int, nargs="+", help="scale: worker counts (1 2 4)")
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    parser.add_argument(
        "--database-url",
        help="admin URL of the server (else PIPELINE_DATABASE_URL, PIPELINE_TEST_DATABASE_URL, "
        "else the local server)",
    )
    return parser.parse_args(argv)


def _loaders(args: argparse.Namespace) -> tuple[LoaderConfig, ...]:
    base = QUICK_LOADER[0] if args.quick else LoaderConfig()
    sizes = {"window_rows": args.window_rows, "page_rows": args.page_rows}
    base = replace(base, **{k: v for k, v in sizes.items() if v is not None})
    rows = args.rows or ([c.rows for c in QUICK_LOADER] if args.quick else [200_000, 1_000_000])
    return tuple(replace(base, rows=n) for n in rows)


def _scale(args: argparse.Namespace) -> ScaleConfig | None:
    if not args.scale:
        return None
    config = QUICK_SCALE if args.quick else ScaleConfig()
    workers = tuple(args.workers) if args.workers else None
    sizes = {"accounts_per_api": args.accounts_per_api, "workers": workers}
    return replace(config, **{k: v for k, v in sizes.items() if v is not None})


def options_from(args: argparse.Namespace) -> Options:
    """The parts to run and their sizes, from the command line."""
    named = {part for part in PARTS if getattr(args, part)}
    wanted = named or (set() if args.pressure or args.scale or args.status else set(PARTS))
    extraction = replace(
        QUICK_EXTRACTION if args.quick else ExtractionConfig(),
        rate="rate" in wanted,
        ceiling="ceiling" in wanted,
        incremental="incremental" in wanted,
        apis=tuple(args.api or apis()),
    )
    memory = QUICK_MEMORY if args.quick else MemoryConfig()
    if args.memory_tasks:
        memory = replace(memory, sizes=tuple(args.memory_tasks))
    return Options(
        database_url=admin_url(args.database_url),
        loader=_loaders(args) if "loader" in wanted else (),
        extraction=extraction if wanted & {"rate", "ceiling", "incremental"} else None,
        memory=memory if "memory" in wanted else None,
        pressure=(QUICK_PRESSURE if args.quick else PressureConfig()) if args.pressure else None,
        scale=_scale(args),
        status=(QUICK_STATUS if args.quick else StatusConfig()) if args.status else None,
    )


def _drop_expected(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    if event.get("event") in EXPECTED_WARNINGS:
        raise structlog.DropEvent
    return event


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tune_collector()  # as `pipeline` does: the in-process runs measure what users run
    # The pipeline logs every window; only warnings (retries, rejections) matter here.
    structlog.configure(
        processors=[_drop_expected, *structlog.get_config()["processors"]],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    result = asyncio.run(run_suite(options_from(args)))
    print(render(result))
    if result.get("pressure"):
        print(render_pressure(result["pressure"]))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    paths = [RESULTS / f"{stamp}.json", *([args.json] if args.json else [])]
    for path in write_json(result, paths):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
