"""config.yaml as frozen settings; each mistake is a ConfigError naming file, account and key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
)

from pipeline.envexpand import Location, UnsetVariables, expand, read_yaml
from pipeline.errors import ConfigError
from pipeline.redaction import KEY_ENV
from pipeline.sections import (
    ConcurrencySettings,
    DatabaseSettings,
    HttpSettings,
    ReadSettings,
    RedactionSettings,
    RetrySettings,
    ScheduleSettings,
    Section,
)
from pipeline.validation import location
from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase, Vendor

DEFAULT_CONFIG = Path("config.yaml")
DATABASE_URL_ENV = "PIPELINE_DATABASE_URL"


class Settings(Section):
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


class DatabaseConfig(Section):
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
