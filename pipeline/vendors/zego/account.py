"""A ZEGO cloud-recording app as configured in config.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pipeline.vendors.base import AccountBase, NonEmpty, Secret


class ZegoAccount(AccountBase):
    """The AppId and ServerSecret of one ZEGO app."""

    vendor: Literal["zego"]
    app_id: Annotated[int, Field(gt=0)]
    server_secret: Secret
    endpoint: NonEmpty = "https://cloudrecord-api.zego.im"
