"""What a vendor module declares: its account settings, its client, its sources and its twin."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from pipeline.redaction import AccountRedaction
from pipeline.source import Source, VendorClient
from pipeline.urls import endpoint_problem

if TYPE_CHECKING:
    from pipeline.sandbox.twin import Twin

PositiveRate = Annotated[float, Field(gt=0, description="requests per second")]
NonEmpty = Annotated[str, Field(min_length=1)]


def _not_blank(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_blank)]
"""A credential that must hold more than whitespace; hidden in reprs and logs."""


class AccountBase(BaseModel):
    """Settings every account has, whatever its vendor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")]
    vendor: str
    endpoint: NonEmpty
    apis: list[str] | None = None
    rate_limits: dict[str, PositiveRate] = Field(default_factory=dict)
    redact: AccountRedaction = Field(default_factory=AccountRedaction)
    """Field paths and parameter names to redact besides the vendor's (pipeline.redaction)."""

    @field_validator("endpoint")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        # Inherited by every vendor's account, whose own `endpoint` only sets the default.
        problem = endpoint_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def secret_values(self) -> list[str]:
        """Every credential value of this account, for redaction."""
        return [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]


class Change(NamedTuple):
    """One change made at a twin, as the pipeline records it in task_history."""

    task_id: str
    old_status: str
    new_status: str
    deleted: bool = False


def twin_account(
    model: type[AccountBase], vendor: str, **credentials: Any
) -> Callable[..., AccountBase]:
    """`Sandbox.account` for a twin: `model(url, name, **settings)` with the twin's fake
    `credentials` (the account fields that differ from vendor to vendor)."""

    def account(url: str, name: str, **settings: Any) -> AccountBase:
        return model(name=name, vendor=vendor, endpoint=url, **credentials, **settings)

    return account


@dataclass(frozen=True)
class Sandbox:
    """A vendor's twin and what runs it offline: its synthetic tasks and an account on it.

    The demo, the benchmarks, `python -m pipeline.sandbox` and the tests use only these.
    """

    twin: Callable[..., Twin]
    """The twin's class: keyword `credentials`, `clock`, `faults`, `rate_limits` and its own."""
    credentials: Mapping[Any, str]
    """The twin's fake credentials, id -> secret: nothing here reaches a real vendor."""
    account: Callable[..., AccountBase]
    """account(url, name, **settings): an account on the twin at `url` with its credentials."""
    fill: Callable[[Any, int, int, int, int], int]
    """fill(twin, now, per_day, days_back, seed): synthetic tasks in the twin; how many."""
    stored: Callable[[Any, int], dict[str, list[str]]]
    """Per API, the task ids a complete backfill at `now` stores from the twin."""
    change: Callable[[Any, int], list[Change]]
    """A day at the vendor: tasks stopped, paused, ended or deleted in the twin at `now`."""
    fast_twin: Callable[..., Twin] | None = None
    """The twin with its lists indexed, answering the same, for large benchmarks."""
    bench_sizes: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    """Per benchmark scale ("full", "quick"), per API, the settings of `bench_tasks` for it:
    `tasks` (how many), and any of the vendor's own."""
    bench_tasks: Callable[..., list[dict[str, Any]]] | None = None
    """bench_tasks(api, now, seed, **settings): the API's synthetic tasks for a benchmark."""
    bench_twin: Callable[[Mapping[Any, str], Mapping[str, list[dict[str, Any]]]], Twin] | None = (
        None
    )
    """bench_twin(credentials, tasks): the `fast_twin` holding `tasks` (per API)."""
    bench_configured: Mapping[str, float] = field(default_factory=dict)
    """APIs the benchmark backfills again at a configured limit below the documented one."""
    minimum: Callable[..., tuple[int, str]] | None = None
    """minimum(api, tasks, last_read, now): the fewest requests a sync at `now` needs after a
    complete read of `tasks` at `last_read`, nothing changed since; and the reasoning."""


@dataclass(frozen=True)
class Vendor:
    """One vendor: how its accounts are configured, how to talk to it, and its list APIs."""

    name: str
    account_model: type[AccountBase]
    make_client: Callable[[Any], VendorClient]
    sources: Mapping[str, Source]
    helper_apis: Mapping[str, float] = field(default_factory=dict)
    """APIs the sources call besides their own list API, with their documented rates."""
    title: str = ""
    """The vendor's name as people write it."""
    sandbox_module: str = ""
    """The module whose `SANDBOX` is the vendor's twin kit: imported only when asked for, so a
    run against the real vendor never loads the twin (nor aiohttp's server)."""

    @property
    def sandbox(self) -> Sandbox | None:
        """The vendor's twin and synthetic data (`Sandbox`), if it has one."""
        if not self.sandbox_module:
            return None
        kit: Sandbox = importlib.import_module(self.sandbox_module).SANDBOX
        return kit

    @property
    def rated_apis(self) -> list[str]:
        """Every API with its own rate limit: the list APIs, then the helper APIs."""
        return [*self.sources, *self.helper_apis]

    def default_rate(self, api: str) -> float:
        """The documented requests per second of `api`."""
        source = self.sources.get(api)
        return source.default_rate if source is not None else self.helper_apis[api]
