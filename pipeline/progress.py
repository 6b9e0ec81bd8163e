"""How a run shows its progress: bars in a terminal, structured lines elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import structlog
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn
from rich.progress import Progress as RichBars

from pipeline.model import LoadCounts, SourceKey

log = structlog.get_logger(__name__)


class Progress(Protocol):
    """Told what each source planned and finished."""

    def planned(self, key: SourceKey, windows: int) -> None: ...
    def window_done(self, key: SourceKey, counts: LoadCounts, requests: int) -> None: ...
    def finished(self, key: SourceKey, outcome: str) -> None: ...


@dataclass(slots=True)
class _Tally:
    planned: int = 0
    done: int = 0
    loaded: int = 0
    requests: int = 0
    started: float = field(default_factory=time.monotonic)

    def record(self, counts: LoadCounts, requests: int) -> None:
        self.done += 1
        self.loaded += counts.seen
        self.requests = requests

    @property
    def rate(self) -> float:
        return self.requests / max(time.monotonic() - self.started, 1e-6)


class SilentProgress:
    """Shows nothing (tests, `--quiet`)."""

    def planned(self, key: SourceKey, windows: int) -> None: ...
    def window_done(self, key: SourceKey, counts: LoadCounts, requests: int) -> None: ...
    def finished(self, key: SourceKey, outcome: str) -> None: ...


class LogProgress:
    """A structured `progress` line per source, at most every `interval` seconds."""

    def __init__(self, interval: float = 10.0) -> None:
        self._interval = interval
        self._tallies: dict[SourceKey, _Tally] = {}
        self._last: dict[SourceKey, float] = {}

    def planned(self, key: SourceKey, windows: int) -> None:
        self._tallies[key] = _Tally(planned=windows)
        self._last[key] = time.monotonic()

    def window_done(self, key: SourceKey, counts: LoadCounts, requests: int) -> None:
        tally = self._tallies.setdefault(key, _Tally())
        tally.record(counts, requests)
        if time.monotonic() - self._last.get(key, 0.0) >= self._interval:
            self._last[key] = time.monotonic()
            self._emit(key, tally)

    def finished(self, key: SourceKey, outcome: str) -> None:
        if key in self._tallies:
            self._emit(key, self._tallies[key], outcome=outcome)

    @staticmethod
    def _emit(key: SourceKey, tally: _Tally, **extra: str) -> None:
        log.info(
            "progress",
            account=key.account,
            api=key.api,
            windows_done=tally.done,
            windows_planned=tally.planned,
            tasks_loaded=tally.loaded,
            requests_per_second=round(tally.rate, 2),
            **extra,
        )


class BarProgress:
    """A progress bar per source: windows done of planned, tasks loaded, requests per second."""

    def __init__(self, stream: TextIO) -> None:
        self._bars = RichBars(
            # Not markup: "[failed]" and an account's name are shown as they are.
            TextColumn("{task.description:<40}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "windows  {task.fields[loaded]:>8} records  {task.fields[rate]:>6.1f} req/s"
            ),
            console=Console(file=stream),
            transient=False,
        )
        self._ids: dict[SourceKey, TaskID] = {}
        self._tallies: dict[SourceKey, _Tally] = {}

    def __enter__(self) -> BarProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def planned(self, key: SourceKey, windows: int) -> None:
        self._tallies[key] = _Tally(planned=windows)
        self._ids[key] = self._bars.add_task(
            f"{key.account} {key.api}", total=windows, loaded=0, rate=0.0
        )

    def window_done(self, key: SourceKey, counts: LoadCounts, requests: int) -> None:
        tally = self._tallies.setdefault(key, _Tally())
        tally.record(counts, requests)
        if key in self._ids:
            self._bars.update(
                self._ids[key], completed=tally.done, loaded=tally.loaded, rate=tally.rate
            )

    def finished(self, key: SourceKey, outcome: str) -> None:
        if key in self._ids:
            self._bars.update(self._ids[key], description=f"{key.account} {key.api} [{outcome}]")
