"""config.yaml as frozen settings; each mistake is a ConfigError naming file, account and key."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.envexpand import Location, UnsetVariables, expand, read_yaml
from pipeline.errors import ConfigError
from pipeline.redaction import KEY_ENV, MIN_KEY_CHARS
from pipeline.validation import location
from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase, Vendor

DEFAULT_CONFIG = Path("config.yaml")
DATABASE_URL_ENV = "PIPELINE_DATABASE_URL"
_KV_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
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


class HttpSettings(_Section):
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


class RetrySettings(_Section):
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


class ConcurrencySettings(_Section):
    """How much of one source runs at once."""

    windows_per_source: Annotated[int, Field(ge=1)] = 4


class ReadSettings(_Section):
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


class ScheduleSettings(_Section):
    """How often the scheduler runs `pipeline sync`: `status` calls a source overdue when no
    worker has synced it for longer than that allows (a missing shard, a stopped CronJob)."""

    sync_every_minutes: Annotated[float, Field(gt=0)] = 60
    missed_runs_allowed: Annotated[int, Field(ge=0)] = 2
    """Runs a source may miss before it is overdue (a slow or failed run, a restart)."""

    @property
    def overdue_after(self) -> timedelta:
        return timedelta(minutes=self.sync_every_minutes * (self.missed_runs_allowed + 1))


class RedactionSettings(_Section):
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


class Settings(_Section):
    """The whole validated config.yaml."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    accounts: tuple[SerializeAsAny[AccountBase], ...] = Field(min_length=1)
    http: HttpSettings = Field(default_factory=HttpSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    concurrency: ConcurrencySettings = Field(default_factory=ConcurrencySettings)
    reads: ReadSettings = Field(default_factory=ReadSettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)

    def secret_values(self) -> list[str]:
        """Every credential of every account and the database password, for log redaction."""
        values = [value for account in self.accounts for value in account.secret_values()]
        values += [self.redaction.key.get_secret_value()] if self.redaction.key else []
        return list(dict.fromkeys(values + self.database.secret_values()))

    def account(self, name: str) -> AccountBase:
        """The account called `name`; ConfigError if there is none."""
        for account in self.accounts:
            if account.name == name:
                return account
        known = ", ".join(account.name for account in self.accounts)
        raise ConfigError(f"unknown account {name!r}; configured accounts: {known}")


class AccountName(BaseModel):
    """An account as `migrate` and `status` see it: name, vendor and APIs, no credentials."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    vendor: str
    apis: list[str] | None = None

    @field_validator("vendor")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in VENDORS:
            known = ", ".join(sorted(VENDORS))
            raise ValueError(f"unknown vendor {value!r}; known vendors: {known}")
        return value


class DatabaseConfig(_Section):
    """What `migrate` and `status` read of config.yaml, so they run without any vendor secret."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    accounts: tuple[AccountName, ...] = ()
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    """For `migrate`'s scrub of stored records; nothing else reads it."""
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)

    def secret_values(self) -> list[str]:
        """The database password and the redaction key, for log redaction."""
        key = self.redaction.key
        return self.database.secret_values() + ([key.get_secret_value()] if key else [])


_SECTIONS: dict[str, type[BaseModel]] = {
    name: field.annotation for name, field in Settings.model_fields.items() if name != "accounts"
}
_TOP_LEVEL = tuple(Settings.model_fields)
_MESSAGES = {
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
}


def resolve_config_path(cli_value: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """`--config`, else `PIPELINE_CONFIG`, else `./config.yaml`."""
    environ = os.environ if environ is None else environ
    return Path(cli_value or environ.get("PIPELINE_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, expand and validate the config file at `path`."""
    environ = os.environ if environ is None else environ
    data, problems = _expanded(_key_from_environment(read_yaml(path)), environ)
    _raise_if(path, problems)
    accounts, problems = _accounts(data.get("accounts"))
    sections = {}
    for name, model in _SECTIONS.items():
        section, errors = _validate(model, data.get(name, {}), {"base_dir": path.parent}, name)
        sections[name] = section
        problems += errors
    _raise_if(path, problems)
    if environ.get(DATABASE_URL_ENV):
        sections["database"] = DatabaseSettings(dsn=environ[DATABASE_URL_ENV])
    return Settings(accounts=tuple(accounts), **sections)


def load_database_config(path: Path, environ: Mapping[str, str] | None = None) -> DatabaseConfig:
    """The database section and each account's name, vendor and APIs of the file at `path`;
    nothing else is expanded or checked, so no credential need be set."""
    environ = os.environ if environ is None else environ
    raw = _key_from_environment(read_yaml(path))
    items = raw.get("accounts")
    picked = {
        "database": raw.get("database", {}),
        "accounts": [_named(item) for item in items] if isinstance(items, list) else [],
        "redaction": raw["redaction"],
        "schedule": raw.get("schedule", {}),
    }
    data, problems = _expanded(picked, environ)
    _raise_if(path, problems)
    database, problems = _validate(DatabaseSettings, data["database"], {}, "database")
    redaction, errors = _validate(RedactionSettings, data["redaction"], {}, "redaction")
    problems += errors
    schedule, errors = _validate(ScheduleSettings, data["schedule"], {}, "schedule")
    problems += errors
    accounts = []
    for index, item in enumerate(data["accounts"]):
        account, errors = _validate(AccountName, item, {})
        problems += [f"{_account_label(index, item)}: {error}" for error in errors]
        accounts += [account] if account else []
    _raise_if(path, problems)
    if environ.get(DATABASE_URL_ENV):
        database = DatabaseSettings(dsn=environ[DATABASE_URL_ENV])
    return DatabaseConfig(
        database=database, accounts=tuple(accounts), redaction=redaction, schedule=schedule
    )


def _named(item: Any) -> Any:
    names = AccountName.model_fields
    return {k: v for k, v in item.items() if k in names} if isinstance(item, dict) else item


def _key_from_environment(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with `redaction.key` defaulting to `${PIPELINE_REDACTION_KEY:-}` (unset, the commands
    that need it say so)."""
    section = raw.get("redaction", {})
    if not isinstance(section, dict) or "key" in section:
        return raw
    return {**raw, "redaction": {**section, "key": f"${{{KEY_ENV}:-}}"}}


def selected_apis(account: AccountBase | AccountName) -> list[str]:
    """The APIs to sync for `account`: its `apis`, else all of its vendor's."""
    return list(dict.fromkeys(account.apis or VENDORS[account.vendor].sources))


def rate_for(account: AccountBase, api: str) -> float:
    """Requests per second for `api` on `account`: its override, else the documented rate."""
    return account.rate_limits.get(api, VENDORS[account.vendor].default_rate(api))


def dsn_password(dsn: str) -> str | None:
    """The password in a URL or key/value DSN, as written."""
    span = _url_password_span(dsn)
    if span:
        return dsn[span[0] : span[1]] or None
    match = _KV_PASSWORD.search(dsn)
    if not match:
        return None
    value = match.group(2)
    if value.startswith("'"):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    return value or None


def redact_dsn(dsn: str) -> str:
    """`dsn` with its password, in URL or `password=` form, replaced by `***`."""
    span = _url_password_span(dsn)
    if span:
        dsn = f"{dsn[: span[0]]}***{dsn[span[1] :]}"
    return _KV_PASSWORD.sub(r"\1***", dsn)


def _url_password_span(dsn: str) -> tuple[int, int] | None:
    # The password runs to the last `@`, so one written with a raw `@` is still covered.
    start = dsn.find("://") + 3
    first_at, last_at = dsn.find("@", start), dsn.rfind("@", start)
    colon = dsn.find(":", start, max(first_at, 0))
    if start < 3 or first_at < 0 or colon < 0:
        return None
    return colon + 1, last_at


def _raise_if(path: Path, problems: list[str]) -> None:
    if problems:
        raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))


def _expanded(raw: dict[str, Any], environ: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    problems = [
        f"{key}: unknown key; expected one of {', '.join(_TOP_LEVEL)}"
        for key in raw
        if key not in _TOP_LEVEL
    ]
    try:
        return expand(raw, environ), problems
    except UnsetVariables as exc:
        unset = exc.missing
    return raw, problems + [
        f"{_where(raw, loc)}: environment variable {name} is not set" for loc, name in unset
    ]


def _where(data: Mapping[str, Any], loc: Location) -> str:
    if len(loc) < 2 or loc[0] != "accounts" or not isinstance(loc[1], int):
        return location(loc)
    head = _account_label(loc[1], data["accounts"][loc[1]])
    return f"{head}: {location(loc[2:])}" if loc[2:] else head


def _account_label(index: int, item: Any) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    known = isinstance(name, str) and name and "${" not in name
    return f"accounts[{index}] {name!r}" if known else f"accounts[{index}]"


def _accounts(raw: Any) -> tuple[list[AccountBase], list[str]]:
    if raw is None:
        return [], ["accounts: required key is missing; configure at least one account"]
    if not isinstance(raw, list) or not raw:
        return [], ["accounts: must be a non-empty list of accounts"]
    accounts: list[AccountBase] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        account, errors = _account(item)
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in seen:
            errors.append(f"name: duplicate account name, already used by accounts[{seen[name]}]")
        elif isinstance(name, str):
            seen[name] = index
        problems += [f"{_account_label(index, item)}: {error}" for error in errors]
        accounts += [account] if account else []
    return accounts, problems


def _account(item: Any) -> tuple[AccountBase | None, list[str]]:
    if not isinstance(item, dict):
        return None, ["must be a mapping with name, vendor and credentials"]
    known = f"known vendors: {', '.join(sorted(VENDORS))}"
    if "vendor" not in item:
        return None, [f"vendor: required key is missing; {known}"]
    vendor = VENDORS.get(item["vendor"]) if isinstance(item["vendor"], str) else None
    if vendor is None:
        return None, [f"vendor: unknown vendor {item['vendor']!r}; {known}"]
    account, errors = _validate(vendor.account_model, item, {})
    return account, errors + _api_problems(item, vendor)


def _api_problems(item: dict[str, Any], vendor: Vendor) -> list[str]:
    # Checked on the raw item, so an unknown API is reported along with any other mistake.
    known = f"vendor {vendor.name} has {', '.join(vendor.sources)}"
    apis, rates = item.get("apis"), item.get("rate_limits")
    problems = ["apis: must not be empty; leave it out for all APIs"] if apis == [] else []
    if isinstance(apis, list):
        problems += [
            f"apis[{index}]: unknown API {api!r}; {known}"
            for index, api in enumerate(apis)
            if isinstance(api, str) and api not in vendor.sources
        ]
    if isinstance(rates, dict):
        rated = f"vendor {vendor.name} has {', '.join(vendor.rated_apis)}"
        problems += [
            f"rate_limits.{api}: unknown API {api!r}; {rated}"
            for api in rates
            if api not in vendor.rated_apis
        ]
    return problems


def _validate(
    model: type[Any], data: Any, context: dict[str, Any], section: str | None = None
) -> tuple[Any, list[str]]:
    # Only pydantic's messages are used: its full text quotes the input, secrets included.
    try:
        return model.model_validate(data, context=context), []
    except ValidationError as exc:
        return None, [_describe(model, error, section) for error in exc.errors()]


def _describe(model: type[BaseModel], error: Any, section: str | None) -> str:
    message = _MESSAGES.get(error["type"], error["msg"].removeprefix("Value error, "))
    if error["type"] == "extra_forbidden":
        message += f"; expected one of {', '.join(model.model_fields)}"
    loc = (section, *error["loc"]) if section else tuple(error["loc"])
    return f"{location(loc)}: {message}"
