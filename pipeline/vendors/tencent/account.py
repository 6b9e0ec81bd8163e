"""A Tencent Cloud account as configured in config.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from pipeline.vendors.base import AccountBase, NonEmpty


class TencentAccount(AccountBase):
    """Credentials and endpoint of one Tencent Cloud (sub-)account."""

    vendor: Literal["tencent"]
    secret_id: NonEmpty
    secret_key: SecretStr
    # DescribeRecordTask accepts only ap-guangzhou on the China site.
    region: NonEmpty = "ap-guangzhou"
    endpoint: NonEmpty = "https://live.tencentcloudapi.com"
    language: Literal["zh-CN", "en-US"] = Field(default="en-US")

    @field_validator("secret_key")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value
