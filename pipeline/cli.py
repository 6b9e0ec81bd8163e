"""The `pipeline` command line: parse, dispatch, and turn errors into exit statuses."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline import __version__
from pipeline.errors import ConfigError, DatabaseError, SchemaOutOfDate
from pipeline.runtime import tune_collector

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
ACCOUNT_HELP = "only this account (repeatable; default: every account)"


def parse_when(text: str) -> datetime:
    """DATE: `YYYY-MM-DD` (UTC midnight) or an ISO 8601 timestamp with an offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not YYYY-MM-DD or an ISO 8601 timestamp with offset"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (add Z or +HH:MM)")
    return parsed.astimezone(UTC)


def fault_rate(text: str) -> float:
    """RATE: a share of answers between 0 and 0.9."""
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= rate <= 0.9:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 0.9")
    return rate


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline",
        description="Keep the full history of live-streaming vendors' tasks in PostgreSQL.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", help="config file (default ./config.yaml or $PIPELINE_CONFIG)"
    )
    common.add_argument(
        "--log-format",
        choices=["json", "console"],
        help="default: json unless stdout is a terminal",
    )
    common.add_argument("--quiet", action="store_true", help="no progress display")
    runs = argparse.ArgumentParser(add_help=False)
    runs.add_argument(
        "--metrics-file",
        type=Path,
        metavar="PATH",
        help="write the run's figures in the Prometheus text format (node exporter textfile)",
    )
    runs.add_argument(
        "--shard",
        metavar="I/N",
        help="only shard I of N (0 <= I < N): N workers with the same config split the sources "
        "between them (default: $PIPELINE_SHARD, or $JOB_COMPLETION_INDEX of "
        "$PIPELINE_SHARD_COUNT; else every source)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("migrate", parents=[common], help="apply the SQL under sql/, once each")
    sync = commands.add_parser(
        "sync", parents=[common, runs], help="fetch what is new or may have changed"
    )
    sync.add_argument("--account", action="append", default=[], metavar="NAME", help=ACCOUNT_HELP)
    backfill = commands.add_parser(
        "backfill", parents=[common, runs], help="fetch a chosen range on demand"
    )
    backfill.add_argument(
        "--since",
        required=True,
        type=parse_when,
        metavar="DATE",
        help="tasks starting from DATE (YYYY-MM-DD in UTC, or ISO 8601 with an offset)",
    )
    backfill.add_argument(
        "--until",
        type=parse_when,
        metavar="DATE",
        help="tasks starting before DATE (default: as far ahead as the vendor schedules)",
    )
    backfill.add_argument(
        "--account", action="append", default=[], metavar="NAME", help=ACCOUNT_HELP
    )
    backfill.add_argument(
        "--api", action="append", default=[], metavar="ACTION", help="only this API (repeatable)"
    )
    backfill.add_argument(
        "--refetch", action="store_true", help="fetch again what is already complete"
    )
    status = commands.add_parser(
        "status", parents=[common], help="runs, coverage and gaps per source"
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    demo = commands.add_parser(
        "demo", parents=[common], help="the whole job offline: sandbox and embedded Postgres"
    )
    demo.add_argument("--days", type=int, default=90, help="days to backfill (default 90)")
    demo.add_argument("--per-day", type=int, default=40, help="sandbox tasks per day (default 40)")
    demo.add_argument(
        "--faults",
        type=fault_rate,
        default=0.0,
        metavar="RATE",
        help="share of sandbox answers that fail (0 to 0.9), to watch the retries",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script."""
    tune_collector()
    try:
        return asyncio.run(run_cli(argv))
    except KeyboardInterrupt:
        print("pipeline: interrupted", file=sys.stderr)
        return 130


async def run_cli(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, run the command, and map errors to exit statuses."""
    args = build_parser().parse_args(argv)
    # After parsing, so `--help` stays fast; the demo uses the commands, not the other way.
    if args.command == "demo":
        from pipeline.demo import demo_command as run
    else:
        from pipeline.commands import run

    try:
        return await run(args)
    except ConfigError as exc:
        print(f"pipeline: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SchemaOutOfDate as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseError as exc:
        print(f"pipeline: database error: {exc}", file=sys.stderr)
        return EXIT_FAILED
