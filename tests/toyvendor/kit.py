"""The toy vendor's account, twin (on the shared `Twin` machinery), synthetic tasks and changes."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal

from aiohttp import web
from pydantic import SecretStr

from pipeline.sandbox.faults import FaultKind, FaultPlan
from pipeline.sandbox.log import Refusal
from pipeline.sandbox.twin import Twin
from pipeline.vendors.base import AccountBase, Change, Sandbox, Secret, twin_account
from tests.toyvendor import bench
from tests.toyvendor.bench import PAGE

TOKEN = "toy-token-1f2e3d"


class ToyAccount(AccountBase):
    """One toy account: a bearer token."""

    vendor: Literal["toy"]
    token: Secret


class ToySandbox(Twin):
    """The toy API's twin: one list action, paged by number, tasks kept in id order."""

    envelope_faults: Mapping[FaultKind, tuple[str | int, str]] = {
        FaultKind.RATE_LIMIT: ("slow_down", "too many requests"),
        FaultKind.INTERNAL_ERROR: ("oops", "internal error"),
        FaultKind.HTTP_5XX: ("oops", "bad gateway"),
    }
    not_an_object = ("bad_request", "body is not a JSON object")

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        rate_limits: Mapping[str, float] | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        super().__init__(
            actions={"ListToys": self._list},
            rates={"ListToys": 20.0, **(rate_limits or {})},
            clock=clock,
            monotonic=time.monotonic,
            faults=faults,
        )
        self.tokens = set(credentials.values())
        self.tasks: dict[str, dict[str, Any]] = {}

    def _action(self, request: web.Request) -> str:
        return request.headers.get("X-Action", "")

    def _account(self, request: web.Request) -> str:
        return request.headers.get("Authorization", "")[-6:]

    def _admit(self, request: web.Request, body: bytes) -> tuple[str, Hashable]:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            raise Refusal("unauthorized", "unknown token")
        action = self._action(request)
        if action not in self.actions:
            raise Refusal("no_such_action", action)
        return action, token

    def _error(self, request: web.Request, code: str, message: str) -> tuple[int, dict[str, Any]]:
        return (429 if code == "slow_down" else 400), {"error": code, "message": message}

    def _success(self, request: web.Request, result: dict[str, Any]) -> dict[str, Any]:
        return {"ok": result}

    def _list(self, params: dict[str, Any]) -> dict[str, Any]:
        page = params.get("page")
        if not isinstance(page, int) or page < 1:
            raise Refusal("bad_page", "page must be a positive integer")
        ordered = [self.tasks[t] for t in sorted(self.tasks)]
        items = ordered[(page - 1) * PAGE : page * PAGE]
        return {"items": items, "pages": max(1, math.ceil(len(ordered) / PAGE))}


account = twin_account(ToyAccount, "toy", token=SecretStr(TOKEN))


def fill(twin: ToySandbox, now: int, per_day: int, days_back: int, seed: int) -> int:
    """`per_day` tasks a day over the last `days_back` days."""
    rng = random.Random(seed)
    for n in range(per_day * days_back):
        start = now - rng.randrange(days_back * 86_400)
        twin.tasks[f"toy-{seed}-{n:05d}"] = {
            "id": f"toy-{seed}-{n:05d}",
            "start": start,
            "state": rng.choice(["on", "off", "done"]),
        }
    return len(twin.tasks)


def stored(twin: ToySandbox, now: int) -> dict[str, list[str]]:
    """The whole list."""
    return {"ListToys": sorted(twin.tasks)}


def change(twin: ToySandbox, now: int) -> list[Change]:
    """One task switched off, another deleted."""
    switched, deleted = sorted(t for t, r in twin.tasks.items() if r["state"] == "on")[:2]
    twin.tasks[switched]["state"] = "off"
    del twin.tasks[deleted]
    return [
        Change(switched, "running", "stopped"),
        Change(deleted, "running", "running", deleted=True),
    ]


def bench_twin(credentials: Mapping[Any, str], tasks: Mapping[str, list[dict[str, Any]]]) -> Twin:
    """The twin holding `tasks` (per API)."""
    twin = ToySandbox(credentials=credentials)
    twin.tasks.update((task["id"], task) for task in tasks.get(bench.API, []))
    return twin


SANDBOX = Sandbox(
    twin=ToySandbox,
    credentials={"toy": TOKEN},
    account=account,
    fill=fill,
    stored=stored,
    change=change,
    fast_twin=ToySandbox,  # small enough to need no index
    bench_sizes=bench.SIZES,
    bench_tasks=bench.bench_tasks,
    bench_twin=bench_twin,
    minimum=bench.minimum,
)
