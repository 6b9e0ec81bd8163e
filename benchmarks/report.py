"""The benchmark's results as a plain-text table and as JSON files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks import tables
from benchmarks.scale_tables import scale_lines


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
        "code": code_state(),
    }


def code_state(root: Path = Path(__file__).parent.parent) -> dict[str, Any]:
    """The commit measured and the files changed since: the loader is edited concurrently."""

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-C", str(root), *args],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or "unknown", "changed": changed}


def _machine_lines(m: dict[str, Any]) -> list[str]:
    pg = m["postgresql"]
    settings = ", ".join(f"{k}={v}" for k, v in pg.items() if k != "version")
    code = m.get("code", {})
    # The benchmark's own files do not move the figures; the pipeline's do.
    changed = [path for path in code.get("changed", []) if not path.startswith("benchmarks/")]
    shown = ", ".join(changed) or "none"
    return [
        f"Machine:    {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}, "
        f"load average {m['load_average'][0]:.2f} at start, "
        f"{m.get('load_average_at_end', (float('nan'),))[0]:.2f} at end",
        f"PostgreSQL: {pg['version']}",
        f"            {settings}",
        f"Code:       commit {code.get('commit', 'unknown')}; changed outside benchmarks/: {shown}",
    ]


def render(result: dict[str, Any]) -> str:
    """The whole result as a table for a terminal."""
    lines = [f"Benchmark {result['started_at']}", *_machine_lines(result["machine"]), ""]
    extraction = result.get("extraction")
    if extraction:
        if extraction["rate"]:
            lines += [*tables.rate_lines(extraction["rate"], extraction["tasks"]), ""]
        if extraction.get("configured"):
            configured = extraction["configured"]
            title = tables.CONFIGURED_TITLE
            lines += [*tables.rate_lines(configured, extraction["tasks"], title), ""]
        if extraction["ceiling"]:
            raised = extraction["config"]["raised_rate"]
            lines += [*tables.ceiling_lines(extraction["ceiling"], raised), ""]
        if extraction["incremental"]:
            lines += [*tables.incremental_lines(extraction["incremental"]), ""]
    for loader in result.get("loader") or []:
        lines += [*tables.loader_lines(loader), ""]
    if result.get("memory"):
        lines += [*tables.memory_lines(result["memory"]), ""]
    if result.get("status"):
        lines += [*tables.status_lines(result["status"]), ""]
    if result.get("scale"):
        lines += scale_lines(result["scale"])
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
