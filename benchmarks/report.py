"""The benchmark's results as a plain-text table and as JSON files."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LOADER_LABELS = {
    "loader_initial": "Loader, initial load (empty db)",
    "loader_reload_same": "Loader, reload, nothing changed",
    "loader_reload_changed": "Loader, reload, some rows changed",
    "executemany_initial": "executemany upsert, initial",
    "executemany_reload_same": "executemany upsert, reload same",
    "copy_bare": "COPY, table without indexes",
    "copy_into_tasks": "COPY into tasks (key + index)",
}


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name, as the kernel reports it."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown"


def machine(server: dict[str, str]) -> dict[str, Any]:
    """Where the numbers come from: CPUs, Python and the PostgreSQL server's settings."""
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "postgresql": server,
    }


def _machine_lines(m: dict[str, Any]) -> list[str]:
    pg = m["postgresql"]
    settings = ", ".join(f"{k}={v}" for k, v in pg.items() if k != "version")
    return [
        f"Machine:    {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}, "
        f"load average {m['load_average'][0]:.2f} at start, "
        f"{m.get('load_average_at_end', (float('nan'),))[0]:.2f} at end",
        f"PostgreSQL: {pg['version']}",
        f"            {settings}",
    ]


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _loader_lines(loader: dict[str, Any]) -> list[str]:
    c = loader["config"]
    lines = [
        f"Loader: {loader['rows']:,} rows; windows of {c['window_rows']:,} rows staged in pages "
        f"of {c['page_rows']}; the changed reload changes {loader['changed_rows']:,} rows",
        f"  {'scenario':<36}{'seconds':>9}{'rows/s':>11}{'inserted':>10}{'changed':>9}"
        f"{'history':>9}",
    ]
    for m in loader["measurements"]:
        lines.append(
            f"  {LOADER_LABELS.get(m['name'], m['name']):<36}{m['seconds']:>9.2f}"
            f"{m['rows_per_second']:>11,.0f}{_count(m['inserted']):>10}"
            f"{_count(m['changed']):>9}{_count(m['history_rows']):>9}"
        )
    r = loader["ratios"]
    lines.append(
        f"  ours/executemany: initial {r['ours_vs_executemany_initial']:.2f}x, "
        f"reload {r['ours_vs_executemany_reload']:.2f}x; ours/COPY: bare "
        f"{r['ours_vs_copy_bare']:.2f}, into tasks {r['ours_vs_copy_into_tasks']:.2f}"
    )
    return lines


def _extraction_lines(e: dict[str, Any]) -> list[str]:
    s = e["sandbox"]
    limited = e["rate_limited"]
    return [
        f"Extraction: backfill of {s['tasks']:,} sandbox tasks, page size "
        f"{e['config']['page_size']}, target {e['target_rate']:g} requests/s; outcome "
        f"{e['outcome']}",
        f"  requests {s['requests']:,} in {e['wall_seconds']:.2f} s = "
        f"{e['requests_per_second']:.2f} requests/s = {e['rate_ratio']:.3f} of target "
        f"(goal >= 0.97)",
        f"  between first and last request {e['request_span_rate']:.2f} requests/s; first "
        f"request after {e['lead_seconds']:.2f} s, done {e['tail_seconds']:.2f} s after the last",
        f"  RequestLimitExceeded {limited} (goal 0), retries {e['retries']}, outcomes "
        f"{s['outcomes']}",
        f"  records {e['records']:,} = {e['records_per_second']:,.0f} records/s; pipeline CPU "
        f"{e['cpu_seconds']:.2f} s = {e['cpu_seconds_per_1000_records']:.3f} CPU s per 1,000 "
        f"records (sandbox child: {s['cpu_seconds']:.2f} CPU s, not counted)",
    ]


def render(result: dict[str, Any]) -> str:
    """The whole result as a table for a terminal."""
    lines = [f"Benchmark {result['started_at']}", *_machine_lines(result["machine"]), ""]
    if result.get("loader"):
        lines += [*_loader_lines(result["loader"]), ""]
    if result.get("extraction"):
        lines += _extraction_lines(result["extraction"])
    return "\n".join(lines).rstrip() + "\n"


def write_json(result: dict[str, Any], paths: Iterable[Path]) -> list[Path]:
    """Write `result` to every path (creating folders); the paths written."""
    text = json.dumps(result, indent=2, sort_keys=True, default=str) + "\n"
    written = []
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
        written.append(path)
    return written
