"""Synthetic ZEGO recording tasks shaped like DescribeTasks' items, for the twin and tests.

ZEGO's sample TaskIds decode as URL-safe base64 of 12 bytes laid out like a MongoDB ObjectId:
`YRHu6-E4IyvEAAAD` is 0x6111eeeb (1628565227, the task's RecordBeginTimestamp in seconds), five
bytes of machine/process and a 3-byte counter (3). The generator builds ids the same way and
keeps to letters, digits and `-` (a `_` from base64 is redrawn), so ids are unique, mixed-case,
case-sensitive text. A task lasts at most 24 hours (StartRecord's MaxRecordTime), which decides
whether it is still recording now.
"""

from __future__ import annotations

import base64
import random
from typing import Any

DAY_MS = 86_400_000
MINUTE_MS = 60_000
# Minutes a recording lasts, the long ones rarer; the cap is MaxRecordTime, 24 h.
DURATIONS_MIN = (10, 20, 30, 45, 60, 90, 120, 180, 240, 480, 720, 1440)
DURATION_WEIGHTS = (8, 10, 12, 10, 12, 8, 8, 6, 5, 4, 3, 2)
INITIALIZING_MS = 2 * MINUTE_MS
"""A task younger than this may still be `1` (initialized, no stream yet)."""
PAUSED_SHARE = 0.1
FAILED_SHARE = 0.05
ROOMS = (
    *(str(n) for n in (1000, 1001, 1024, 2048, 8888)),
    *(f"room-{n}" for n in (7, 12, 33, 41)),
    *(f"class_{n:03d}" for n in (3, 17, 101)),
    "match-final",
)
MACHINES = 4


def generate_zego_tasks(
    now: int, count: int = 120, seed: int = 1, days_back: float = 3
) -> list[dict[str, Any]]:
    """`count` tasks begun in [now - days_back days, now] (`now` in Unix seconds), newest first."""
    rng = random.Random(seed)
    now_ms = now * 1000
    earliest = now_ms - int(days_back * DAY_MS)
    machines = [rng.randbytes(5) for _ in range(MACHINES)]
    counter = rng.randrange(1 << 20)
    tasks = []
    for begin in sorted(rng.randint(earliest, now_ms) for _ in range(count)):
        task_id, begin, counter = _task_id(rng, begin, earliest, now_ms, machines, counter)
        status = _status(rng, begin, now_ms)
        room = rng.choice(ROOMS)
        tasks.append(
            {"RecordBeginTimestamp": begin, "TaskId": task_id, "RoomId": room, "Status": status}
        )
    return sorted(tasks, key=lambda task: (-task["RecordBeginTimestamp"], task["TaskId"]))


def _task_id(
    rng: random.Random, begin: int, earliest: int, now_ms: int, machines: list[bytes], counter: int
) -> tuple[str, int, int]:
    """An ObjectId-style id for a task begun at `begin` ms, the begin time used and next counter.

    The counter only grows, so ids are unique; a `_` in the id moves the counter on, or (when
    it comes from the time bytes) nudges the begin time by up to a second.
    """
    while True:
        counter += 1
        raw = (begin // 1000).to_bytes(4, "big") + rng.choice(machines) + counter.to_bytes(3, "big")
        task_id = base64.urlsafe_b64encode(raw).decode("ascii")
        if "_" not in task_id:
            return task_id, begin, counter
        if "_" in task_id[:6]:
            begin = min(max(begin + rng.choice((-1000, 1000)), earliest), now_ms)


def _status(rng: random.Random, begin: int, now_ms: int) -> int:
    """The task's own status now: 1/2/5 while within its duration, else 3 or (rarely) 4."""
    duration = rng.choices(DURATIONS_MIN, DURATION_WEIGHTS)[0] * MINUTE_MS
    if begin + duration <= now_ms:
        return 4 if rng.random() < FAILED_SHARE else 3
    if now_ms - begin < INITIALIZING_MS and rng.random() < 0.5:
        return 1
    return 5 if rng.random() < PAUSED_SHARE else 2
