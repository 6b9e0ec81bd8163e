"""The sections of config.yaml besides the accounts: each a frozen model with its defaults."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.dsn import dsn_password
from pipeline.errors import ConfigError
from pipeline.redaction import KEY_ENV, MIN_KEY_CHARS


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(Section):
    """Where PostgreSQL is: `dsn`; without one, the embedded server under ./.pipeline/ only when
    `embedded` says so (a command never falls back to it silently)."""

    dsn: SecretStr | None = None
    embedded: bool = False
    pool_size: Annotated[int, Field(ge=3)] = 60
    """The most connections one process opens: N workers on one server open up to N times it,
    which its max_connections must allow. Fewer than a run's windows make windows wait."""

    @field_validator("dsn", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def password(self) -> str | None:
        """The password inside the DSN, if it has one."""
        return dsn_password(self.dsn.get_secret_value()) if self.dsn else None

    def secret_values(self) -> list[str]:
        """The DSN's password as written and decoded, for log redaction."""
        password = self.password()
        return [password, unquote(password)] if password else []


class HttpSettings(Section):
    """HTTP client settings; TLS verification is always on."""

    timeout_seconds: Annotated[float, Field(gt=0)] = 30
    ca_bundle: FilePath | None = None

    @field_validator("ca_bundle", mode="before")
    @classmethod
    def _relative_to_config(cls, value: Any, info: ValidationInfo) -> Any:
        # A relative CA path means the same file wherever the command is started from.
        if not value:
            return None
        base = (info.context or {}).get("base_dir")
        return base / value if isinstance(value, str) and base is not None else value


class RetrySettings(Section):
    """How often and how long a retryable failure is retried."""

    attempts: Annotated[int, Field(ge=1)] = 8
    initial_wait: Annotated[float, Field(ge=0)] = 0.5
    max_wait: Annotated[float, Field(ge=0)] = 30
    total_timeout: Annotated[float, Field(gt=0)] = 600

    @model_validator(mode="after")
    def _waits_ordered(self) -> RetrySettings:
        if self.max_wait < self.initial_wait:
            raise ValueError("max_wait must not be less than initial_wait")
        return self


class ConcurrencySettings(Section):
    """How much of one source runs at once."""

    windows_per_source: Annotated[int, Field(ge=1)] = 4


class ReadSettings(Section):
    """Bounds on every read, so no vendor answer, chain or stall can swamp or hang a run."""

    max_body_mb: Annotated[float, Field(gt=0)] = 50
    """Bytes received per answer (Tencent documents 50 MB as its largest)."""
    max_decoded_mb: Annotated[float, Field(gt=0)] = 200
    """Bytes of one answer after decompression."""
    max_pages_per_window: Annotated[int, Field(ge=1)] = 20_000
    window_deadline_seconds: Annotated[float, Field(gt=0)] = 1800
    lock_held_max_seconds: Annotated[float, Field(gt=0)] = 3600
    """A source another process has held longer than this is a failure, not a skip."""

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1_000_000)

    @property
    def max_decoded_bytes(self) -> int:
        return int(self.max_decoded_mb * 1_000_000)


class ScheduleSettings(Section):
    """How often the scheduler runs `pipeline sync`: `status` calls a source overdue when no
    worker has synced it for longer than that allows (a missing shard, a stopped CronJob)."""

    sync_every_minutes: Annotated[float, Field(gt=0)] = 60
    missed_runs_allowed: Annotated[int, Field(ge=0)] = 2
    """Runs a source may miss before it is overdue (a slow or failed run, a restart)."""

    @property
    def overdue_after(self) -> timedelta:
        return timedelta(minutes=self.sync_every_minutes * (self.missed_runs_allowed + 1))


class RedactionSettings(Section):
    """The key of the digests that stand in for vendor credentials in stored records (README,
    "Vendor credentials in records"); PIPELINE_REDACTION_KEY unless the file names another."""

    key: SecretStr | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_KEY_CHARS:
            raise ValueError(
                f"must be at least {MIN_KEY_CHARS} characters ({KEY_ENV}; e.g. the output of "
                "`openssl rand -hex 32`)"
            )
        return value

    def required_key(self) -> bytes:
        """The key; a ConfigError naming its variable when there is none."""
        if self.key is None:
            raise ConfigError(
                f"redaction.key: not set; set {KEY_ENV} to a random string of at least "
                f"{MIN_KEY_CHARS} characters (e.g. `openssl rand -hex 32`): vendor credentials "
                "in records are stored as digests keyed by it"
            )
        return self.key.get_secret_value().encode()
