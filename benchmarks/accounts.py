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
from pipeline.vendors.base import AccountBase
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.sandbox import VolcengineSandbox
from pipeline.vendors.zego.account import ZegoAccount
from pipeline.vendors.zego.sandbox import ZegoSandbox

# Fake credentials, known only to the twins in the sandbox child.
TENCENT_ID, TENCENT_KEY = "AKIDbench000000000000000000000000000", "bench-tencent-key-0c1d2e3f"
VOLC_AK, VOLC_SK = "AKLTbench0000000000000000", "bench-volc-key-4a5b6c7d"
ZEGO_APP, ZEGO_SECRET = 1000000002, "bench-zego-secret-8e9f"
REDACTION_KEY = "bench-redaction-key-5f6e7d8c"
TWIN_CREDENTIALS: Mapping[str, Mapping[Any, str]] = {
    "tencent": {TENCENT_ID: TENCENT_KEY},
    "volcengine": {VOLC_AK: VOLC_SK},
    "zego": {ZEGO_APP: ZEGO_SECRET},
}
API_VENDOR: Mapping[str, str] = {
    "DescribeRecordTask": "tencent",
    "DescribeLivePullStreamTasks": "tencent",
    "ListPullRecordTask": "volcengine",
    "DescribeTasks": "zego",
}
APIS = tuple(API_VENDOR)
# What each twin answers when its limiter refuses a request.
RATE_LIMITED: Mapping[str, str] = {
    vendor: str(twin.envelope_faults[FaultKind.RATE_LIMIT][0])
    for vendor, twin in (
        ("tencent", TencentSandbox),
        ("volcengine", VolcengineSandbox),
        ("zego", ZegoSandbox),
    )
}


def documented_rate(api: str) -> float:
    """The vendor's documented requests per second for `api`."""
    return VENDORS[API_VENDOR[api]].default_rate(api)


def account(api: str, url: str, rate: float | None = None) -> AccountBase:
    """An account syncing `api` only, on the twin at `url`; `rate` None: the documented rate."""
    vendor = API_VENDOR[api]
    common: dict[str, Any] = {
        "name": f"bench-{vendor}",
        "vendor": vendor,
        "endpoint": url,
        "apis": [api],
        "rate_limits": {} if rate is None else {api: rate},
    }
    if vendor == "tencent":
        return TencentAccount(**common, secret_id=TENCENT_ID, secret_key=SecretStr(TENCENT_KEY))
    if vendor == "volcengine":
        return VolcengineAccount(
            **common, access_key_id=VOLC_AK, secret_access_key=SecretStr(VOLC_SK)
        )
    return ZegoAccount(**common, app_id=ZEGO_APP, server_secret=SecretStr(ZEGO_SECRET))


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
