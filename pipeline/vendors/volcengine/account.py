"""A Volcengine account as configured in config.yaml."""

from __future__ import annotations

from typing import Literal

from pipeline.vendors.base import AccountBase, NonEmpty, Secret


class VolcengineAccount(AccountBase):
    """Access key of one Volcengine account (the list's 50/s budget is per account)."""

    vendor: Literal["volcengine"]
    access_key_id: NonEmpty
    secret_access_key: Secret
    region: NonEmpty = "cn-north-1"
    endpoint: NonEmpty = "https://live.volcengineapi.com"
