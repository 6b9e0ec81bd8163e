"""A ZEGO cloud-recording app as configured in config.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from pipeline.vendors.base import AccountBase, NonEmpty


class ZegoAccount(AccountBase):
    """The AppId and ServerSecret of one ZEGO app."""

    vendor: Literal["zego"]
    app_id: Annotated[int, Field(gt=0)]
    server_secret: SecretStr
    endpoint: NonEmpty = "https://cloudrecord-api.zego.im"

    @field_validator("server_secret")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value
