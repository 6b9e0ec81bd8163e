"""Each part of the benchmark's result as lines of a plain-text table."""

from __future__ import annotations

import math
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
MIB = 1024 * 1024


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


RATE_TITLE = "Rate efficiency: a backfill of each API at its documented limit"
CONFIGURED_TITLE = (
    "Rate efficiency at a configured limit below the documented (the twin told of it)"
)


def rate_lines(
    runs: list[dict[str, Any]], tasks: dict[str, int], title: str = RATE_TITLE
) -> list[str]:
    lines = [
        f"{title} (goal: ratio >= 0.97, peak <= limit, none limited)",
        f"  {'API':<28}{'limit':>6}{'tasks':>9}{'requests':>9}{'wall s':>8}{'req/s':>7}"
        f"{'ratio':>7}{'span r/s':>9}{'ratio':>7}{'peak':>6}{'limited':>8}{'retries':>8}"
        f"{'lead s':>7}{'tail s':>7}  outcome",
    ]
    for r in runs:
        lines.append(
            f"  {r['api']:<28}{r['target_rate']:>6g}{tasks[r['api']]:>9,}{r['requests']:>9,}"
            f"{r['wall_seconds']:>8.2f}{r['requests_per_second']:>7.2f}{r['rate_ratio']:>7.3f}"
            f"{r['span_rate']:>9.2f}{r['span_ratio']:>7.3f}{_count(r.get('peak_per_second')):>6}"
            f"{r['rate_limited']:>8}"
            f"{r['retries']:>8}{r['lead_seconds']:>7.2f}{r['tail_seconds']:>7.2f}  "
            f"{r['outcome']}{' ' + r['error'] if r['error'] else ''}"
        )
    lines.append(
        "  ratio: requests over the run's wall time; span: between its first and last request;"
    )
    lines.append("  peak: the most requests the twin received in any sliding second")
    return lines


def ceiling_lines(runs: list[dict[str, Any]], raised: float) -> list[str]:
    lines = [
        f"Pipeline ceiling: the same backfills with every limit raised to {raised:,.0f}/s",
        f"  {'API':<28}{'records':>9}{'requests':>9}{'wall s':>8}{'records/s':>10}"
        f"{'CPU s':>7}{'CPU s/1k rec':>13}{'twin CPU s':>11}  outcome",
    ]
    for r in runs:
        lines.append(
            f"  {r['api']:<28}{r['records']:>9,}{r['requests']:>9,}{r['wall_seconds']:>8.2f}"
            f"{r['records_per_second']:>10,.0f}{r['cpu_seconds']:>7.2f}"
            f"{r['cpu_seconds_per_1000_records']:>13.3f}{r['sandbox_cpu_seconds']:>11.2f}  "
            f"{r['outcome']}"
        )
    lines.append("  CPU: this process (the pipeline); the twins run in a child process")
    return lines


def incremental_lines(items: list[dict[str, Any]]) -> list[str]:
    lines = [
        "Incremental cost: a sync right after the backfill, nothing changed at the vendor",
        f"  {'API':<28}{'requests':>9}{'minimum':>8}{'ratio':>7}{'windows':>8}{'records':>9}"
        f"{'changed':>8}  the minimum",
    ]
    for item in items:
        s = item["sync"]
        lines.append(
            f"  {item['api']:<28}{item['requests']:>9,}{item['minimum']['requests']:>8,}"
            f"{item['ratio']:>7.2f}{s['windows']:>8}{s['records']:>9,}{s['changed']:>8,}  "
            f"{item['minimum']['why']}"
        )
    return lines


def loader_lines(loader: dict[str, Any]) -> list[str]:
    c = loader["config"]
    lines = [
        f"Loader: {loader['rows']:,} rows; windows of {c['window_rows']:,} rows staged in pages "
        f"of {c['page_rows']}; the changed reload changes {loader['changed_rows']:,} rows",
        f"  {'scenario':<36}{'seconds':>8}{'rows/s':>9}{'our CPU':>8}{'pg CPU':>7}{'WAL MB':>8}"
        f"{'stage s':>8}{'merge s':>8}{'inserted':>10}{'changed':>8}{'history':>8}",
    ]
    for m in loader["measurements"]:
        phases = m["phases"]
        lines.append(
            f"  {LOADER_LABELS.get(m['name'], m['name']):<36}{m['seconds']:>8.2f}"
            f"{m['rows_per_second']:>9,.0f}{m['client_cpu_seconds']:>8.2f}"
            f"{_number(m['server']['cpu_seconds']):>7}{m['server']['wal_bytes'] / MIB:>8.1f}"
            f"{_number(phases.get('stage')):>8}{_number(phases.get('merge')):>8}"
            f"{_count(m['inserted']):>10}{_count(m['changed']):>8}{_count(m['history_rows']):>8}"
        )
    r = loader["ratios"]
    lines.append(
        f"  ours/executemany: initial {r['ours_vs_executemany_initial']:.2f}x, "
        f"reload {r['ours_vs_executemany_reload']:.2f}x; ours/COPY: bare "
        f"{r['ours_vs_copy_bare']:.2f}, into tasks {r['ours_vs_copy_into_tasks']:.2f}; "
        f"no-change reload/bare COPY {r['reload_same_vs_copy_bare']:.2f} (rows/s over rows/s)"
    )
    return lines


def memory_lines(memory: dict[str, Any]) -> list[str]:
    floor = memory["floor"]
    lines = [
        "Memory: peak RSS of `pipeline backfill` (DescribeRecordTask, limits raised) as a child "
        "process",
        f"  {'run':<36}{'tasks':>11}{'records':>11}{'requests':>9}{'wall s':>8}{'CPU s':>8}"
        f"{'peak RSS MiB':>13}",
        f"  {'pipeline migrate (the floor)':<36}{'':>11}{'':>11}{'':>9}"
        f"{floor['wall_seconds']:>8.2f}{floor['cpu_seconds']:>8.2f}"
        f"{floor['peak_rss_bytes'] / MIB:>13.1f}",
    ]
    for run in memory["runs"]:
        p = run["process"]
        lines.append(
            f"  {'pipeline backfill':<36}{run['tasks']:>11,}{run['records']:>11,}"
            f"{run['requests']:>9,}{p['wall_seconds']:>8.2f}{p['cpu_seconds']:>8.2f}"
            f"{p['peak_rss_bytes'] / MIB:>13.1f}"
        )
    r = memory["ratios"]
    lines.append(
        f"  biggest/smallest account: peak RSS {r['peak']:.2f}x, above the floor "
        f"{_number(r['above_floor'])}x"
    )
    return lines


def status_lines(status: dict[str, Any]) -> list[str]:
    cases = status["cases"]
    lines = [
        "Status: `pipeline status`'s whole read, hourly sharded history (median of 3)",
        f"  {'sources':>9}{'rounds':>8}{'history rows':>14}{'seconds':>9}{'ms/source':>11}",
    ]
    for c in cases:
        lines.append(
            f"  {c['sources']:>9,}{c['rounds']:>8,}{c['history_rows']:>14,}{c['seconds']:>9.3f}"
            f"{c['seconds'] * 1000 / c['sources']:>11.3f}"
        )
    most = max(c["sources"] for c in cases)
    widest = sorted((c for c in cases if c["sources"] == most), key=lambda c: c["rounds"])
    if len(widest) > 1:
        short, long = widest[0], widest[-1]
        lines.append(
            f"  at {most:,} sources, {long['rounds'] / short['rounds']:g}x the history takes "
            f"{long['seconds'] / short['seconds']:.2f}x the time"
        )
    return lines
