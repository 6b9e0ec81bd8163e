"""The README's demo command, run as a newcomer would: a clean virtual environment, no database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SKIP = shutil.ignore_patterns(".git", ".venv", ".pipeline", "__pycache__", "*.egg-info", "results")


def readme_command(heading: str) -> str:
    """The first shell block under `heading` in the README."""
    text = (REPO / "README.md").read_text()
    section = text.split(f"## {heading}", 1)[1]
    match = re.search(r"```sh\n(.+?)\n```", section, re.DOTALL)
    assert match, f"no shell block under {heading!r}"
    return match.group(1).strip()


def test_the_demo_command_prints_the_summary_in_a_clean_environment(tmp_path: Path) -> None:
    checkout = tmp_path / "pipeline"
    shutil.copytree(REPO, checkout, ignore=SKIP)
    command = readme_command("Try it: the demo")
    assert command.endswith("pipeline demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "VIRTUAL_ENV"))}
    script = f"{sys.executable} -m venv venv && . venv/bin/activate && {command} --quiet"
    done = subprocess.run(  # noqa: S603 - the README's own command
        ["bash", "-c", script],  # noqa: S607 - bash from PATH, as a newcomer has it
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Tencent record tasks per start day" in done.stdout
    assert "the changes the sync recorded in task_history" in done.stdout
    assert (checkout / ".pipeline" / "pgdata").is_dir()  # the embedded database, nothing installed
