"""The benchmark's accounts: one per vendor API, pointed at its twin, with fake credentials."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pipeline.config import RedactionSettings, RetrySettings, Settings
from pipeline.sandbox.faults import FaultKind
from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase, Sandbox

REDACTION_KEY = "bench-redaction-key-5f6e7d8c"
KITS: Mapping[str, Sandbox] = {
    name: vendor.sandbox for name, vendor in VENDORS.items() if vendor.sandbox is not None
}
# Each twin's own fake credentials, known only to the twins in the sandbox child.
TWIN_CREDENTIALS: Mapping[str, Mapping[Any, str]] = {
    name: kit.credentials for name, kit in KITS.items()
}
API_VENDOR: Mapping[str, str] = {api: name for name in KITS for api in VENDORS[name].sources}
APIS = tuple(API_VENDOR)
# What each twin answers when its limiter refuses a request.
RATE_LIMITED: Mapping[str, str] = {
    name: str(kit.twin.envelope_faults[FaultKind.RATE_LIMIT][0])  # type: ignore[attr-defined]
    for name, kit in KITS.items()
}


def documented_rate(api: str) -> float:
    """The vendor's documented requests per second for `api`."""
    return VENDORS[API_VENDOR[api]].default_rate(api)


def account(api: str, url: str, rate: float | None = None) -> AccountBase:
    """An account syncing `api` only, on the twin at `url`; `rate` None: the documented rate."""
    vendor = API_VENDOR[api]
    rates = {} if rate is None else {api: rate}
    return KITS[vendor].account(url, f"bench-{vendor}", apis=[api], rate_limits=rates)


def settings(*accounts: AccountBase) -> Settings:
    """The pipeline's settings for `accounts`, with the default retries and concurrency."""
    redaction = RedactionSettings(key=SecretStr(REDACTION_KEY))
    return Settings(accounts=accounts, retry=RetrySettings(), redaction=redaction)


def write_config(path: Path, api: str, url: str, rate: float | None) -> Path:
    """A config.yaml (JSON is YAML) for `pipeline` run as a command; the DSN comes from the env."""
    configured = account(api, url, rate)
    item = configured.model_dump(mode="json", exclude_defaults=True)
    for name, value in vars(configured).items():
        if isinstance(value, SecretStr):
            item[name] = value.get_secret_value()
    config = {"accounts": [item], "redaction": {"key": REDACTION_KEY}}
    path.write_text(json.dumps(config, indent=2), "utf-8")
    return path
