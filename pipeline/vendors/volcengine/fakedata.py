"""Synthetic pull-record tasks shaped like ListPullRecordTask's items, for the twin and tests.

Each task has the eight documented fields plus a hidden `CreateTime` (Unix seconds) that orders
the twin's list and is never answered. Times are RFC 3339 with second precision; about half the
tasks write them in UTC with `Z` (the 2024-12 docs), the rest with `+08:00` (older docs and the
GetPullRecordTask example), which is the trap a parser must survive (trap 15).
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

DAY = 86_400
LOOKBACK = 30 * DAY
HORIZON = 7 * DAY
# No maximum length is documented; a pulled stream that drops for 120 s ends its task early.
DURATIONS = (600, 1800, 3600, 2 * 3600, 6 * 3600, DAY)
STOPPED_SHARE = 0.1
# (cumulative share, phase) of the tasks that were not stopped.
PHASES = ((0.55, "ended"), (0.8, "running"), (1.0, "scheduled"))
STATUSES = {"ended": "已结束", "running": "生效中", "scheduled": "未开始", "stopped": "停用"}
VHOSTS = {
    "example.com": ("push.example.com", "pull.example.com"),
    "live.acme.cn": ("pull.acme.cn",),
}
APPS = ("live", "edu", "sports")
STREAM_PREFIXES = ("room", "match", "class")
BEIJING = timezone(timedelta(hours=8))


def rfc3339(seconds: int, offset: timezone = UTC) -> str:
    """`seconds` as RFC 3339 at second precision: `...Z` in UTC, `...+08:00` in Beijing time."""
    moment = datetime.fromtimestamp(seconds, offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if offset is UTC else moment.isoformat()


def generate_pull_record_tasks(now: int, count: int = 80, seed: int = 1) -> list[dict[str, Any]]:
    """`count` tasks around `now` (Unix seconds), by (CreateTime, TaskId); seeded."""
    rng = random.Random(seed)
    busy: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    tasks = [_task(rng, now, busy) for _ in range(count)]
    return sorted(tasks, key=lambda task: (task["CreateTime"], task["TaskId"]))


def _task(
    rng: random.Random, now: int, busy: dict[tuple[str, str, str], list[tuple[int, int]]]
) -> dict[str, Any]:
    phase = "stopped" if rng.random() < STOPPED_SHARE else _phase(rng)
    start, end = _schedule(rng, now, phase)
    vhost = rng.choice(sorted(VHOSTS))
    app = rng.choice(APPS)
    stream = _free_stream(rng, busy, (vhost, app), start, end)
    offset = UTC if rng.random() < 0.5 else BEIJING
    return {
        "TaskId": f"{rng.getrandbits(128):032x}",
        "StartTime": rfc3339(start, offset),
        "EndTime": rfc3339(end, offset),
        "Vhost": vhost,
        "Domain": rng.choice(VHOSTS[vhost]),
        "App": app,
        "Stream": stream,
        "Status": STATUSES[phase],
        "CreateTime": min(start, now) - rng.randint(60, 2 * DAY),
    }


def _phase(rng: random.Random) -> str:
    roll = rng.random()
    return next(phase for share, phase in PHASES if roll < share)


def _schedule(rng: random.Random, now: int, phase: str) -> tuple[int, int]:
    """Start and end in [now - 30 d, now + 7 d], consistent with the phase at `now`."""
    duration = rng.choice(DURATIONS)
    if phase == "ended":
        end = now - rng.randint(1, LOOKBACK - DAY)
        return end - duration, end
    if phase == "running":
        start = now - rng.randint(1, duration - 1)
        return start, start + duration
    if phase == "scheduled":
        start = now + rng.randint(60, HORIZON - DAY)
        return start, start + duration
    # A stopped task may have been stopped before, during or after its planned time.
    start = now + rng.randint(-LOOKBACK + DAY, HORIZON - DAY)
    return start, start + duration


def _free_stream(
    rng: random.Random,
    busy: dict[tuple[str, str, str], list[tuple[int, int]]],
    place: tuple[str, str],
    start: int,
    end: int,
) -> str:
    """A stream name with no other task overlapping [start, end) (one task at a time per stream)."""
    for attempt in itertools.count():
        # The name pool widens with each clash, so a crowded schedule still finds a free name.
        name = f"{rng.choice(STREAM_PREFIXES)}_{rng.randint(1, 200 + attempt):04d}"
        taken = busy.setdefault((*place, name), [])
        if all(end <= other_start or other_end <= start for other_start, other_end in taken):
            taken.append((start, end))
            return name
    raise AssertionError("unreachable")
