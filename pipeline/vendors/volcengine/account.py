"""A Volcengine account as configured in config.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, field_validator

from pipeline.vendors.base import AccountBase, NonEmpty


class VolcengineAccount(AccountBase):
    """Access key of one Volcengine account (the list's 50/s budget is per account)."""

    vendor: Literal["volcengine"]
    access_key_id: NonEmpty
    secret_access_key: SecretStr
    region: NonEmpty = "cn-north-1"
    endpoint: NonEmpty = "https://live.volcengineapi.com"

    @field_validator("secret_access_key")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value
