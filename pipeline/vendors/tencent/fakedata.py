"""Synthetic record tasks shaped like CreateRecordTask's, for the sandbox, tests and the demo."""

from __future__ import annotations

import random
import string
from typing import Any

DAY = 86_400
MIN_DURATION = 300
# CreateRecordTask: a task lasts at most 24 h and must end before creation time + 7 days.
MAX_DURATION = DAY
HORIZON = 7 * DAY
DOMAINS = ("5000.live.push.com", "push.example-live.com", "live.acme.cn")
APPS = ("live", "edu", "trtc_ai")
STREAM_PREFIXES = ("room", "class", "match")
TEMPLATES = (0, 0, 123, 1001, 2048)
SHORT_DURATIONS = (300, 600, 900, 1800, 3600, 7200)
STOPPED_SHARE = 0.1
STRADDLER_SHARE = 0.1
_ID_ALPHABET = string.ascii_letters + string.digits
_ID_LENGTH = 56


def generate_record_tasks(
    now: int, days_back: int = 90, days_ahead: int = 7, per_day: int = 40, seed: int = 1
) -> list[dict[str, Any]]:
    """Record tasks starting in [now - days_back d, now + days_ahead d), by (StartTime, TaskId)."""
    rng = random.Random(seed)
    taken: set[str] = set()
    tasks = [
        _task(rng, now + day * DAY, now, _task_id(rng, taken))
        for day in range(-days_back, days_ahead)
        for _ in range(per_day)
    ]
    return sorted(tasks, key=lambda task: (task["StartTime"], task["TaskId"]))


def _task(rng: random.Random, slice_start: int, now: int, task_id: str) -> dict[str, Any]:
    """One task starting within the day-long slice that begins at `slice_start`."""
    start, duration = _schedule(rng, slice_start)
    last_end = now + HORIZON - 1
    start = min(start, last_end - MIN_DURATION)
    end = min(start + duration, last_end)
    stopped = 0
    if start < now and rng.random() < STOPPED_SHARE:
        stopped = rng.randint(start, min(end, now))
    return {
        "TaskId": task_id,
        "DomainName": rng.choice(DOMAINS),
        "AppName": rng.choice(APPS),
        "StreamName": _stream_name(rng),
        "StartTime": start,
        "EndTime": end,
        "TemplateId": rng.choice(TEMPLATES),
        "Stopped": stopped,
    }


def _schedule(rng: random.Random, slice_start: int) -> tuple[int, int]:
    """Start and duration; some tasks start late on a UTC day and run past its midnight."""
    duration = _duration(rng)
    if rng.random() >= STRADDLER_SHARE:
        return slice_start + rng.randrange(DAY), duration
    midnight = slice_start - slice_start % DAY + DAY
    start = max(slice_start, midnight - rng.randint(60, 3 * 3600))
    crossing = midnight - start + rng.randint(60, 3600)
    return start, min(max(duration, crossing), MAX_DURATION)


def _duration(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.08:
        return MAX_DURATION
    if roll < 0.5:
        return rng.choice(SHORT_DURATIONS)
    return rng.randint(MIN_DURATION, MAX_DURATION)


def _stream_name(rng: random.Random) -> str:
    if rng.random() < 0.05:
        return "livetest"
    return f"{rng.choice(STREAM_PREFIXES)}_{rng.randint(1, 300):04d}"


def _task_id(rng: random.Random, taken: set[str]) -> str:
    """An opaque, case-sensitive id like Tencent's, unique within one generated set."""
    while True:
        candidate = "".join(rng.choices(_ID_ALPHABET, k=_ID_LENGTH))
        if candidate not in taken:
            taken.add(candidate)
            return candidate
