"""Synthetic relay tasks shaped like DescribeLivePullStreamTasks' `PullStreamTaskInfo`.

Each task is what a single-task query returns (with `RecentPullInfo` once it has pulled); the
twin leaves `RecentPullInfo` out of list answers. Times are UTC ISO-8601 strings ending in Z.
Like real ones, tasks carry credentials: a push signature in most `PushArgs`, a user and
password in some rtmp sources, an `auth_key` in some http-flv ones, a `token` in every callback.
"""

from __future__ import annotations

import random
from typing import Any

from pipeline.vendors.tencent.fakedata import APPS, DOMAINS, STREAM_PREFIXES
from pipeline.vendors.tencent.sandbox_pull_tasks import iso_utc

DAY = 86_400
LOOKBACK = 30 * DAY
HORIZON = 7 * DAY
# Tasks may last up to 7 days (the PullStreamTaskInfo doc-string; CreateLivePullStreamTask says 30).
DURATIONS = (1800, 3600, 4 * 3600, DAY, 3 * DAY, 7 * DAY)
PAUSED_SHARE = 0.15
# (share, kind): about half the tasks have ended, a third run now, the rest are scheduled.
PHASES = ((0.5, "ended"), (0.85, "running"), (1.0, "scheduled"))
REGIONS = ("ap-guangzhou", "ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-hongkong", "ap-tokyo")
OPERATORS = ("ops-bot", "alice", "bob", "relay-admin")
EVENTS = ("TaskStart", "TaskExit", "VodSourceFileStart", "VodSourceFileFinish", "ResetTaskConfig")
SOURCE_HOSTS = ("src.example-live.com", "origin.acme.cn", "pull.partner-tv.net")
VOD_HOST = "vod.example-cdn.com"
CALLBACK_URL = "https://hooks.example.com/live/relay"
CREDENTIALED_SHARE = 0.5


def generate_pull_tasks(now: int, count: int = 60, seed: int = 1) -> list[dict[str, Any]]:
    """`count` relay tasks around `now` (Unix seconds), by (CreateTime, TaskId); seeded."""
    rng = random.Random(seed)
    ids = rng.sample(range(10_000, 100_000_000), count)
    tasks = [_task(rng, now, str(task_id)) for task_id in ids]
    return sorted(tasks, key=lambda task: (task["CreateTime"], task["TaskId"]))


def _task(rng: random.Random, now: int, task_id: str) -> dict[str, Any]:
    start, end = _schedule(rng, now)
    created = min(start, now) - rng.randint(60, 3 * DAY)
    paused = rng.random() < PAUSED_SHARE
    # A pause is a modification, so a paused task was updated after its creation.
    updated = created if rng.random() < 0.4 and not paused else rng.randint(created + 1, now - 1)
    vod = rng.random() < 0.45
    # Credentials come from a generator of the task's own: the other draws stay as they were.
    creds = random.Random(f"credentials:{task_id}")
    urls = _vod_urls(rng) if vod else [_with_credentials(creds, _live_url(rng))]
    task = {
        "TaskId": task_id,
        "SourceType": "PullVodPushLive" if vod else "PullLivePushLive",
        "SourceUrls": urls,
        "DomainName": rng.choice(DOMAINS),
        "AppName": rng.choice(APPS),
        "StreamName": f"{rng.choice(STREAM_PREFIXES)}_{rng.randint(1, 300):04d}",
        "PushArgs": _push_args(rng, end),
        "StartTime": iso_utc(start),
        "EndTime": iso_utc(end),
        "Region": rng.choice(REGIONS),
        "VodLoopTimes": rng.choice((-1, 0, 1, 3)) if vod else -1,
        "VodRefreshType": rng.choice(("ImmediateNewSource", "ContinueBreakPoint")),
        "CreateTime": iso_utc(created),
        "UpdateTime": iso_utc(updated),
        "CreateBy": rng.choice(OPERATORS),
        "UpdateBy": rng.choice(OPERATORS) if updated > created else "",
        "CallbackUrl": _callback(creds) if rng.random() < 0.5 else "",
        "CallbackEvents": sorted(rng.sample(EVENTS, rng.randint(0, 3))),
        # An ended task keeps `enable`: only a pause changes Status.
        "Status": "pause" if paused else "enable",
        "Comment": rng.choice(("", "", "weekly match relay", "backup feed")),
        **_backup(rng),
        "WatermarkList": _watermarks(rng),
        "VodLocalMode": rng.choice((0, 0, 1)) if vod else 0,
        "RecordTemplateId": rng.choice(("", "", str(rng.randint(1000, 99999)))),
        "BackupToUrl": "",
        "TranscodeTemplateName": rng.choice(("", "", "hd", "sd_540")),
    }
    if start <= now:
        task["RecentPullInfo"] = _recent_pull(rng, urls, start, min(end, now), vod)
    return task


def _schedule(rng: random.Random, now: int) -> tuple[int, int]:
    """Start and end inside [now - 30 d, now + 7 d], in the phase drawn for this task."""
    duration = rng.choice(DURATIONS)
    roll = rng.random()
    phase = next(kind for share, kind in PHASES if roll < share)
    if phase == "ended":
        end = now - rng.randint(60, LOOKBACK - 1800)
        return max(end - duration, now - LOOKBACK), end
    if phase == "running":
        start = now - rng.randint(60, min(duration, HORIZON) - 60)
        return start, min(start + duration, now + HORIZON)
    start = now + rng.randint(60, HORIZON - 1800)
    return start, min(start + duration, now + HORIZON)


def _live_url(rng: random.Random) -> str:
    host, stream = rng.choice(SOURCE_HOSTS), f"feed{rng.randint(1, 99)}"
    if rng.random() < 0.5:
        return f"rtmp://{host}/live/{stream}"
    return f"http://{host}/live/{stream}.flv"


def _with_credentials(creds: random.Random, url: str) -> str:
    """`url`, sometimes with a user and password (rtmp) or an `auth_key` (http-flv)."""
    if creds.random() >= CREDENTIALED_SHARE:
        return url
    if url.startswith("rtmp://"):
        return url.replace("rtmp://", f"rtmp://relay:{creds.getrandbits(64):016x}@", 1)
    expires = creds.randint(1_700_000_000, 1_900_000_000)
    return f"{url}?auth_key={expires}-0-0-{creds.getrandbits(128):032x}"


def _callback(creds: random.Random) -> str:
    return f"{CALLBACK_URL}?token={creds.getrandbits(96):024x}"


def _vod_urls(rng: random.Random) -> list[str]:
    return [
        f"https://{VOD_HOST}/vod/{rng.getrandbits(32):08x}.mp4" for _ in range(rng.randint(2, 5))
    ]


def _push_args(rng: random.Random, end: int) -> str:
    if rng.random() < 0.4:
        return ""
    return f"txSecret={rng.getrandbits(128):032x}&txTime={end:x}"


def _backup(rng: random.Random) -> dict[str, str]:
    if rng.random() >= 0.2:
        return {"BackupSourceType": "", "BackupSourceUrl": ""}
    return {
        "BackupSourceType": "PullVodPushLive",
        "BackupSourceUrl": f"https://{VOD_HOST}/vod/standby.mp4",
    }


def _watermarks(rng: random.Random) -> list[dict[str, Any]]:
    if rng.random() >= 0.2:
        return []
    location = rng.randint(0, 3)
    logo = {"PictureUrl": "https://img.example.com/logo.png", "XPosition": 5, "YPosition": 5}
    return [{**logo, "Width": 10, "Height": 0, "Location": location}]


def _recent_pull(
    rng: random.Random, urls: list[str], start: int, last: int, vod: bool
) -> dict[str, Any]:
    """Where the task was at its latest report, some time between its start and `last`."""
    reported = rng.randint(start, max(start, last))
    return {
        "FileUrl": rng.choice(urls),
        "OffsetTime": rng.randint(0, 3600) if vod else reported - start,
        "ReportTime": iso_utc(reported),
        "LoopedTimes": rng.randint(0, 3) if vod else 0,
    }
