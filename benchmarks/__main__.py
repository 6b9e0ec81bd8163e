"""`python -m benchmarks`: run the loader and extraction benchmarks, print and save the results."""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import structlog

from benchmarks.database import admin_url
from benchmarks.extraction import ExtractionConfig
from benchmarks.loader import LoaderConfig
from benchmarks.report import render, write_json
from benchmarks.suite import QUICK_EXTRACTION, QUICK_LOADER, Options, run_suite

RESULTS = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rows", type=int, help="task rows per loader scenario (200,000)")
    parser.add_argument("--window-rows", type=int, help="rows per loader window (20,000)")
    parser.add_argument("--page-rows", type=int, help="rows per staged page (100)")
    parser.add_argument("--skip-loader", action="store_true", help="skip the loader benchmark")
    parser.add_argument("--skip-rate", action="store_true", help="skip the extraction benchmark")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the runner")
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    parser.add_argument(
        "--database-url",
        help="admin URL of the server (else PIPELINE_DATABASE_URL, PIPELINE_TEST_DATABASE_URL, "
        "else the local server)",
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    """The parts to run and their sizes, from the command line."""
    loader = QUICK_LOADER if args.quick else LoaderConfig()
    sizes = {"rows": args.rows, "window_rows": args.window_rows, "page_rows": args.page_rows}
    loader = replace(loader, **{k: v for k, v in sizes.items() if v is not None})
    extraction = QUICK_EXTRACTION if args.quick else ExtractionConfig()
    return Options(
        database_url=admin_url(args.database_url),
        loader=None if args.skip_loader else loader,
        extraction=None if args.skip_rate else extraction,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The pipeline logs every window; only warnings (retries, rejections) matter here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = asyncio.run(run_suite(options_from(args)))
    print(render(result))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    paths = [RESULTS / f"{stamp}.json", *([args.json] if args.json else [])]
    for path in write_json(result, paths):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
