"""Synthetic ZEGO recording tasks shaped like DescribeTasks' items, for the twin and tests.

TaskIds are 16 characters of letters, digits and `-` like ZEGO's `YRHu6-E4IyvEAAAD`: mixed case,
so they must be kept as case-sensitive text. (ZEGO's samples decode as URL-safe base64 of an
ObjectId-like value, begin second + machine + counter, so real ids may also hold `_`; the
generator draws them at random instead.) A task lasts at most 24 hours (StartRecord's
MaxRecordTime before 2026-01-08), which decides whether it is still recording now; one still
recording carries `EndsAt`, when the twin ends it. `overlong_zego_tasks` records for longer.
"""

from __future__ import annotations

import random
import string
from typing import Any

DAY_MS = 86_400_000
MINUTE_MS = 60_000
# Minutes a recording lasts, the long ones rarer; the cap is MaxRecordTime, 24 h.
DURATIONS_MIN = (15, 30, 60, 120, 240, 480, 720, 1440)
DURATION_WEIGHTS = (6, 10, 14, 14, 12, 10, 8, 6)
INITIALIZING_MS = 10 * MINUTE_MS
"""A task younger than this may still be `1` (initialized, no stream yet)."""
PAUSED_SHARE = 0.1
FAILED_SHARE = 0.05
ROOMS = (
    *(str(n) for n in (1000, 1001, 1024, 2048, 8888)),
    *(f"room-{n}" for n in (7, 12, 33, 41)),
    *(f"class_{n:03d}" for n in (3, 17, 101)),
    "match-final",
)
ID_ALPHABET = string.ascii_letters + string.digits + "-"
ID_LENGTH = 16


def overlong_zego_tasks(
    now: int,
    count: int,
    seed: int = 1,
    hours: tuple[float, float] = (30, 46),
    began_hours_ago: float = 1,
) -> list[dict[str, Any]]:
    """`count` recordings begun `began_hours_ago` before `now` (Unix seconds) that record for
    longer than 24 h, the cap before 2026-01-08.

    Each lasts a seeded number of `hours` from its start and carries `EndsAt` for the twin, so
    it is recording (2) until the twin's clock passes its end, then ended (3).
    """
    rng = random.Random(seed)
    taken: set[str] = set()
    tasks = []
    for _ in range(count):
        begin = now * 1000 - int(began_hours_ago * 60 * MINUTE_MS) - rng.randrange(MINUTE_MS)
        length = int(rng.uniform(*hours) * 60 * MINUTE_MS)
        tasks.append(
            {
                "RecordBeginTimestamp": begin,
                "TaskId": _task_id(rng, taken),
                "RoomId": rng.choice(ROOMS),
                "Status": 2,
                "EndsAt": begin + length,
            }
        )
    return tasks


def generate_zego_tasks(
    now: int, count: int = 120, seed: int = 1, days_back: float = 3
) -> list[dict[str, Any]]:
    """`count` tasks begun in [now - days_back days, now] (`now` in Unix seconds), newest first."""
    rng = random.Random(seed)
    now_ms = now * 1000
    earliest = now_ms - int(days_back * DAY_MS)
    taken: set[str] = set()
    tasks = []
    for _ in range(count):
        begin = rng.randint(earliest, now_ms)
        task_id = _task_id(rng, taken)
        duration = rng.choices(DURATIONS_MIN, DURATION_WEIGHTS)[0] * MINUTE_MS
        status = _status(rng, begin, begin + duration, now_ms)
        room = rng.choice(ROOMS)
        task = {"RecordBeginTimestamp": begin, "TaskId": task_id, "RoomId": room, "Status": status}
        if status in (1, 2, 5):
            task["EndsAt"] = begin + duration  # the twin ends it then
        tasks.append(task)
    return sorted(tasks, key=lambda task: (-task["RecordBeginTimestamp"], task["TaskId"]))


def _task_id(rng: random.Random, taken: set[str]) -> str:
    """A fresh 16-character id of letters, digits and `-`."""
    while True:
        task_id = "".join(rng.choices(ID_ALPHABET, k=ID_LENGTH))
        if task_id not in taken:
            taken.add(task_id)
            return task_id


def _status(rng: random.Random, begin: int, end: int, now_ms: int) -> int:
    """The task's own status now: 1/2/5 until its end, else 3 or (rarely) 4."""
    if end <= now_ms:
        return 4 if rng.random() < FAILED_SHARE else 3
    if now_ms - begin < INITIALIZING_MS and rng.random() < 0.5:
        return 1
    return 5 if rng.random() < PAUSED_SHARE else 2
