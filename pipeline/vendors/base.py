"""What a vendor module declares: its account settings, its client and its sources."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from pipeline.redaction import AccountRedaction
from pipeline.source import Source, VendorClient
from pipeline.urls import endpoint_problem

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


@dataclass(frozen=True)
class Vendor:
    """One vendor: how its accounts are configured, how to talk to it, and its list APIs."""

    name: str
    account_model: type[AccountBase]
    make_client: Callable[[Any], VendorClient]
    sources: Mapping[str, Source]
    helper_apis: Mapping[str, float] = field(default_factory=dict)
    """APIs the sources call besides their own list API, with their documented rates."""

    @property
    def rated_apis(self) -> list[str]:
        """Every API with its own rate limit: the list APIs, then the helper APIs."""
        return [*self.sources, *self.helper_apis]

    def default_rate(self, api: str) -> float:
        """The documented requests per second of `api`."""
        source = self.sources.get(api)
        return source.default_rate if source is not None else self.helper_apis[api]
