"""What a run writes on stderr (README, Commands): in a terminal a progress bar per source,
elsewhere a `progress` log line per source, neither with `--quiet`; log lines as JSON or
readable text as `--log-format` says, whatever stdout is, each with `run_id`, `account`, `api`."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from pipeline.cli import run_cli
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests import two_accounts
from tests.two_accounts import SOURCES

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
async def config(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    sandbox: TencentSandbox = two_accounts.twin()
    async with sandbox.serve() as server:
        yield two_accounts.config(tmp_path, server.url, db_url, monkeypatch)


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as the pipeline asks of stdout and stderr."""

    def isatty(self) -> bool:
        return True


def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """stderr as a wide terminal (set in the test itself: pytest resets sys.stderr after setup)."""
    monkeypatch.setenv("COLUMNS", "200")
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def events(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def progress_lines(err: str) -> set[tuple[str, str]]:
    return {(e["account"], e["api"]) for e in events(err) if e["event"] == "progress"}


# One source's bar: its name (and outcome, once it ended), the bar, windows done of planned,
# records and requests per second.
BAR = re.compile(
    r"^(?P<account>\S+) (?P<api>\S+)(?: \[(?P<outcome>\w+)\])?\s.*?"
    r"(?P<done>\d+)/(?P=done)\s+windows\s+\d+ records\s+[\d.]+ req/s$"
)


def bars(shown: str) -> dict[tuple[str, str], str | None]:
    """Each source whose bar reached all its windows, and the outcome it showed last."""
    found = (BAR.match(line.strip()) for line in ANSI.sub("", shown).splitlines())
    return {(m["account"], m["api"]): m["outcome"] for m in found if m}


async def test_in_a_terminal_a_run_shows_a_progress_bar_per_source(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = terminal(monkeypatch)
    assert await run_cli(["sync", "--config", config, "--log-format", "json"]) == 0
    assert set(bars(shown.getvalue())) == SOURCES


async def test_in_a_terminal_each_bar_ends_showing_its_sources_outcome(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = terminal(monkeypatch)
    assert await run_cli(["sync", "--config", config, "--log-format", "json"]) == 0
    assert set(bars(shown.getvalue()).values()) == {"succeeded"}


async def test_elsewhere_a_run_logs_a_progress_line_per_source(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli(["sync", "--config", config, "--log-format", "json"]) == 0
    err = capsys.readouterr().err
    assert progress_lines(err) == SOURCES
    done = [e for e in events(err) if e["event"] == "progress"]
    assert all(e["windows_done"] == e["windows_planned"] > 0 for e in done)


async def test_quiet_shows_no_progress_bar_in_a_terminal(
    config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = terminal(monkeypatch)
    argv = ["sync", "--config", config, "--log-format", "json", "--quiet"]
    assert await run_cli(argv) == 0
    assert bars(shown.getvalue()) == {}
    assert "run.finished" in shown.getvalue()  # the logs are still written


async def test_quiet_logs_no_progress_line_elsewhere(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sync", "--config", config, "--log-format", "json", "--quiet"]
    assert await run_cli(argv) == 0
    err = capsys.readouterr().err
    assert progress_lines(err) == set()
    assert "run.finished" in {e["event"] for e in events(err)}


async def test_log_format_console_writes_readable_lines_when_stdout_is_not_a_terminal(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli(["sync", "--config", config, "--log-format", "console", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^\S+ \[info\s*\] run\.finished .*\boutcome=succeeded\b", err, re.MULTILINE)
    assert events(err) == []


async def test_log_format_json_writes_json_lines_when_stdout_is_a_terminal(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert await run_cli(["sync", "--config", config, "--log-format", "json", "--quiet"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines and [json.loads(line)["level"] for line in lines]  # every line is JSON


async def test_each_log_line_of_a_source_carries_run_id_account_and_api(
    config: str, pool: asyncpg.Pool, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_cli(["sync", "--config", config, "--log-format", "json", "--quiet"]) == 0
    lines = events(capsys.readouterr().err)
    run_id = str(await pool.fetchval("SELECT run_id FROM sync_runs"))
    assert {e["run_id"] for e in lines} == {run_id}
    windows = [e for e in lines if e["event"] == "window.loaded"]
    assert {(e["account"], e["api"]) for e in windows} == SOURCES
