"""A Tencent Cloud account as configured in config.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.vendors.base import AccountBase, NonEmpty, Secret


class TencentAccount(AccountBase):
    """Credentials and endpoint of one Tencent Cloud (sub-)account."""

    vendor: Literal["tencent"]
    secret_id: NonEmpty
    secret_key: Secret
    # DescribeRecordTask accepts only ap-guangzhou on the China site.
    region: NonEmpty = "ap-guangzhou"
    endpoint: NonEmpty = "https://live.tencentcloudapi.com"
    language: Literal["zh-CN", "en-US"] = Field(default="en-US")
