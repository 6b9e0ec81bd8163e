"""`--metrics-file PATH`: a run's figures for the node exporter's textfile collector."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from pipeline.model import SourceResult
from pipeline.runner import RunReport

LABELS = ("vendor", "account", "api")
# (metric name, help, value of one source's result)
PER_SOURCE = (
    ("tasks_seen", "Task records read from the vendor in the last run", lambda r: r.counts.seen),
    (
        "tasks_inserted",
        "Tasks stored for the first time in the last run",
        lambda r: r.counts.inserted,
    ),
    ("tasks_changed", "Tasks whose content changed in the last run", lambda r: r.counts.changed),
    (
        "tasks_rejected",
        "Vendor records kept aside as malformed in the last run",
        lambda r: r.counts.rejected,
    ),
    (
        "tasks_deleted",
        "Tasks a complete listing no longer returned in the last run",
        lambda r: r.counts.deleted,
    ),
    ("requests", "Requests sent to the vendor in the last run", lambda r: r.requests),
    ("retries", "Requests retried in the last run", lambda r: r.retries),
    (
        "hedged_requests",
        "Reads sent again in the last run because the first answer was late (in requests too)",
        lambda r: r.hedges,
    ),
    ("duration_seconds", "Seconds the source took in the last run", lambda r: _seconds(r)),
    (
        "succeeded",
        "1 if the source succeeded in the last run, else 0",
        lambda r: r.outcome == "succeeded",
    ),
)


def _seconds(result: SourceResult) -> float:
    if result.ended_at is None:
        return 0.0
    return (result.ended_at - result.started_at).total_seconds()


def write_metrics(path: Path, command: str, report: RunReport, finished_at: float) -> None:
    """Write the run's figures atomically (a temporary file renamed into place)."""
    registry = CollectorRegistry()
    for name, help_text, value in PER_SOURCE:
        gauge = Gauge(f"pipeline_{command}_{name}", help_text, LABELS, registry=registry)
        for result in report.sources:
            gauge.labels(*_labels(result)).set(float(value(result)))
    _write_paces(registry, command, report.sources)
    last_success = Gauge(
        f"pipeline_{command}_last_success_timestamp_seconds",
        "Unix time the source last succeeded (written only when it did)",
        LABELS,
        registry=registry,
    )
    for result in report.sources:
        if result.outcome == "succeeded" and result.ended_at is not None:
            last_success.labels(*_labels(result)).set(result.ended_at.timestamp())
    # Workers of several shards on one machine write one file each: the shard tells their runs
    # apart (empty, hence absent in Prometheus, for a run of every source).
    shard = str(report.shard) if report.shard else ""
    Gauge(
        f"pipeline_{command}_run_finished_timestamp_seconds",
        "Unix time the run ended",
        ["shard"],
        registry=registry,
    ).labels(shard).set(finished_at)
    Gauge(
        f"pipeline_{command}_run_succeeded",
        "1 if every source succeeded",
        ["shard"],
        registry=registry,
    ).labels(shard).set(float(report.outcome == "succeeded"))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def _write_paces(registry: CollectorRegistry, command: str, sources: list[SourceResult]) -> None:
    """The pace each adaptive source ended at, and the lowest it fell to, requests per second."""
    paced = [r for r in sources if r.pace is not None and r.lowest_pace is not None]
    now = Gauge(
        f"pipeline_{command}_source_pace",
        "Requests per second the source was paced at when the last run ended",
        LABELS,
        registry=registry,
    )
    lowest = Gauge(
        f"pipeline_{command}_source_pace_lowest",
        "The lowest pace of the source in the last run (lowered by rate-limit answers)",
        LABELS,
        registry=registry,
    )
    for result in paced:
        now.labels(*_labels(result)).set(result.pace)
        lowest.labels(*_labels(result)).set(result.lowest_pace)


def _labels(result: SourceResult) -> tuple[str, str, str]:
    return result.key.vendor, result.key.account, result.key.api
