"""The benchmark's accounts: one per vendor API, pointed at its twin, with fake credentials."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pipeline.config import RedactionSettings, RetrySettings, Settings
from pipeline.sandbox.faults import FaultKind
from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase, Sandbox

REDACTION_KEY = "bench-redaction-key-5f6e7d8c"


# Read from the registry at each call, so a vendor registered later (a test's) is measured too.
def kits() -> dict[str, Sandbox]:
    """Every registered vendor's twin kit, by vendor name."""
    return {name: vendor.sandbox for name, vendor in VENDORS.items() if vendor.sandbox is not None}


def twin_credentials() -> dict[str, Mapping[Any, str]]:
    """Each twin's own fake credentials, known only to the twins in the sandbox child."""
    return {name: kit.credentials for name, kit in kits().items()}


def api_vendors() -> dict[str, str]:
    """Every list API of a vendor with a twin kit, and its vendor's name."""
    return {api: name for name in kits() for api in VENDORS[name].sources}


def apis() -> tuple[str, ...]:
    """Every list API the benchmarks can measure."""
    return tuple(api_vendors())


def vendor_of(api: str) -> str:
    """The name of the vendor whose list API `api` is."""
    return api_vendors()[api]


def kit_of(api: str) -> Sandbox:
    """The twin kit of the vendor whose list API `api` is."""
    return kits()[vendor_of(api)]


def rate_limited(vendor: str) -> str:
    """What `vendor`'s twin answers when its limiter refuses a request."""
    kit = kits()[vendor]
    return str(kit.twin.envelope_faults[FaultKind.RATE_LIMIT][0])  # type: ignore[attr-defined]


def documented_rate(api: str) -> float:
    """The vendor's documented requests per second for `api`."""
    return VENDORS[vendor_of(api)].default_rate(api)


def account(api: str, url: str, rate: float | None = None) -> AccountBase:
    """An account syncing `api` only, on the twin at `url`; `rate` None: the documented rate."""
    vendor = vendor_of(api)
    rates = {} if rate is None else {api: rate}
    return kits()[vendor].account(url, f"bench-{vendor}", apis=[api], rate_limits=rates)


def settings(*accounts: AccountBase) -> Settings:
    """The pipeline's settings for `accounts`, with the default retries and concurrency."""
    redaction = RedactionSettings(key=SecretStr(REDACTION_KEY))
    return Settings(accounts=accounts, retry=RetrySettings(), redaction=redaction)


def config_item(configured: AccountBase) -> dict[str, Any]:
    """`configured` as config.yaml holds it, its secrets inline: they are the twins' fake ones."""
    item = configured.model_dump(mode="json", exclude_defaults=True)
    for name, value in vars(configured).items():
        if isinstance(value, SecretStr):
            item[name] = value.get_secret_value()
    return item


def write_accounts_config(
    path: Path, accounts: Sequence[AccountBase], pool_size: int | None = None
) -> Path:
    """A config.yaml (JSON is YAML) of `accounts` for `pipeline` run as a command; the DSN comes
    from the env; `pool_size` caps each process's connections (None: the default)."""
    items = [config_item(configured) for configured in accounts]
    config: dict[str, Any] = {"accounts": items, "redaction": {"key": REDACTION_KEY}}
    if pool_size is not None:
        config["database"] = {"pool_size": pool_size}
    path.write_text(json.dumps(config, indent=2), "utf-8")
    return path


def write_config(path: Path, api: str, url: str, rate: float | None) -> Path:
    """A config.yaml of the one account syncing `api` on the twin at `url`."""
    return write_accounts_config(path, [account(api, url, rate)])
