"""config.yaml: every mistake names file, account and key; ${VAR} expansion; secrets stay hidden."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from pipeline.config import (
    Settings,
    load_settings,
    rate_for,
    resolve_config_path,
    selected_apis,
)
from pipeline.dsn import redact_dsn
from pipeline.envexpand import UnsetVariables, expand
from pipeline.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-DISTINCTIVE-7f3a9c"
ENV = {"TENCENT_SECRET_ID": "AKIDexample", "TENCENT_SECRET_KEY": SECRET}
ACCOUNT = """\
accounts:
  - name: tencent-main
    vendor: tencent
    secret_id: ${TENCENT_SECRET_ID}
    secret_key: ${TENCENT_SECRET_KEY}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, ENV if environ is None else environ)
    return str(caught.value)


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    return load_settings(write(tmp_path, text), ENV if environ is None else environ)


# --- the file itself ---------------------------------------------------------------------------


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "nowhere.yaml")
    assert "nowhere.yaml" in message and "not found" in message


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    message = error_of(tmp_path / "dir.yaml")
    assert message.startswith(f"{tmp_path / 'dir.yaml'}: cannot read")


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, ACCOUNT + "    apis: [DescribeRecordTask\n")
    message = error_of(path)
    assert message.startswith(f"{path}: line ") and "YAML syntax error" in message


def test_yaml_syntax_error_does_not_quote_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, f"accounts:\n  - secret_key: {SECRET}\n bad: [\n")
    assert SECRET not in error_of(path)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    assert "top level must be a mapping" in error_of(write(tmp_path, text))


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "acounts: []\n"))
    assert message == (
        f"{tmp_path / 'config.yaml'}: acounts: unknown key; "
        "expected one of database, accounts, http, retry, concurrency, reads, redaction, schedule"
    )


# --- accounts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["http: {}\n", "accounts: []\n", "accounts:\n"])
def test_no_accounts(tmp_path: Path, text: str) -> None:
    assert ": accounts: " in error_of(write(tmp_path, text))


def test_unknown_vendor_lists_known_vendors(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT.replace("vendor: tencent", "vendor: tencnet")))
    assert message.endswith(
        "config.yaml: accounts[0] 'tencent-main': vendor: unknown vendor 'tencnet'; "
        "known vendors: tencent, volcengine, zego"
    )


def test_missing_credential(tmp_path: Path) -> None:
    message = error_of(
        write(tmp_path, ACCOUNT.replace("    secret_key: ${TENCENT_SECRET_KEY}\n", ""))
    )
    assert message.endswith("accounts[0] 'tencent-main': secret_key: required key is missing")


@pytest.mark.parametrize("variable", ["TENCENT_SECRET_ID", "TENCENT_SECRET_KEY"])
def test_empty_credential_after_expansion(tmp_path: Path, variable: str) -> None:
    key = variable.removeprefix("TENCENT_").lower()
    message = error_of(write(tmp_path, ACCOUNT), {**ENV, variable: ""})
    assert f"accounts[0] 'tencent-main': {key}: " in message


def test_duplicate_account_name(tmp_path: Path) -> None:
    second = ACCOUNT.removeprefix("accounts:\n")
    message = error_of(write(tmp_path, ACCOUNT + second))
    assert message.endswith(
        "accounts[1] 'tencent-main': name: duplicate account name, already used by accounts[0]"
    )


def test_unknown_api_lists_the_vendors_apis(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "    apis: [DescribeRecordTask, DescribeX]\n"))
    assert message.endswith(
        "accounts[0] 'tencent-main': apis[1]: unknown API 'DescribeX'; "
        "vendor tencent has DescribeRecordTask, DescribeLivePullStreamTasks"
    )


def test_unknown_api_in_rate_limits_lists_the_vendors_apis(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "    rate_limits: {DescribeX: 5}\n"))
    assert message.endswith(
        "accounts[0] 'tencent-main': rate_limits.DescribeX: unknown API 'DescribeX'; "
        "vendor tencent has DescribeRecordTask, DescribeLivePullStreamTasks"
    )


def test_empty_apis_list_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "    apis: []\n"))
    assert "accounts[0] 'tencent-main': apis: must not be empty" in message


@pytest.mark.parametrize("rate", ["0", "-1.5"])
def test_non_positive_rate_limit(tmp_path: Path, rate: str) -> None:
    message = error_of(
        write(tmp_path, ACCOUNT + f"    rate_limits: {{DescribeRecordTask: {rate}}}\n")
    )
    assert "accounts[0] 'tencent-main': rate_limits.DescribeRecordTask: " in message
    assert "greater than 0" in message


def test_unknown_key_inside_account_lists_the_keys(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "    secretkey: x\n"))
    assert "accounts[0] 'tencent-main': secretkey: unknown key; expected one of " in message
    assert "secret_key" in message


def test_account_without_a_name_is_named_by_index(tmp_path: Path) -> None:
    message = error_of(
        write(tmp_path, ACCOUNT.replace("  - name: tencent-main\n    vendor", "  - vendor"))
    )
    assert message.endswith("config.yaml: accounts[0]: name: required key is missing")


def test_every_problem_is_reported_on_its_own_line(tmp_path: Path) -> None:
    text = ACCOUNT + "    region: ''\n    extra: 1\nretry: {attempts: 0}\n"
    lines = error_of(write(tmp_path, text)).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{tmp_path / 'config.yaml'}: ") for line in lines)


# --- other sections ----------------------------------------------------------------------------


def test_sections_get_their_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT)
    assert settings.http.timeout_seconds == 30 and settings.http.ca_bundle is None
    assert (settings.retry.attempts, settings.retry.initial_wait) == (8, 0.5)
    assert (settings.retry.max_wait, settings.retry.total_timeout) == (30, 600)
    assert settings.concurrency.windows_per_source == 4
    assert settings.database.dsn is None


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("http", "timeout_seconds: 0"),
        ("retry", "attempts: 0"),
        ("retry", "total_timeout: 0"),
        ("retry", "initial_wait: -1"),
        ("concurrency", "windows_per_source: 0"),
    ],
)
def test_out_of_range_setting_names_section_and_key(tmp_path: Path, section: str, key: str) -> None:
    message = error_of(write(tmp_path, ACCOUNT + f"{section}: {{{key}}}\n"))
    assert f"config.yaml: {section}.{key.split(':')[0]}: " in message


def test_unknown_key_in_section(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "http: {verify: false}\n"))
    assert message.endswith("http.verify: unknown key; expected one of timeout_seconds, ca_bundle")


def test_missing_ca_bundle_is_an_error(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ACCOUNT + "http: {ca_bundle: missing.pem}\n"))
    assert "config.yaml: http.ca_bundle: " in message


def test_relative_ca_bundle_is_found_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not checked here")
    settings = load(tmp_path, ACCOUNT + "http: {ca_bundle: ca.pem}\n")
    assert settings.http.ca_bundle == tmp_path / "ca.pem"


def test_empty_section_means_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, ACCOUNT + "retry:\n").retry.attempts == 8


# --- ${VAR} expansion --------------------------------------------------------------------------


def test_unset_variable_names_file_account_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, ACCOUNT)
    message = error_of(path, {"TENCENT_SECRET_ID": "AKIDexample"})
    assert message == (
        f"{path}: accounts[0] 'tencent-main': secret_key: "
        "environment variable TENCENT_SECRET_KEY is not set"
    )


def test_default_is_used_when_variable_is_unset(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT + "    region: ${REGION:-ap-shanghai}\n")
    assert settings.accounts[0].region == "ap-shanghai"


def test_set_variable_wins_over_default(tmp_path: Path) -> None:
    text = ACCOUNT + "    region: ${REGION:-ap-shanghai}\n"
    assert load(tmp_path, text, {**ENV, "REGION": "ap-beijing"}).accounts[0].region == "ap-beijing"


def test_default_also_replaces_a_variable_set_but_empty() -> None:
    assert expand({"region": "${REGION:-ap-shanghai}"}, {"REGION": ""}) == {"region": "ap-shanghai"}


def test_empty_default_gives_empty_string() -> None:
    assert expand({"dsn": "${NOPE:-}"}, {}) == {"dsn": ""}


def test_variable_inside_a_longer_string_and_in_lists() -> None:
    data = {"a": ["x-${A}-y", {"b": "${A}${B:-2}"}], "n": 5}
    assert expand(data, {"A": "1"}) == {"a": ["x-1-y", {"b": "12"}], "n": 5}


@pytest.mark.parametrize("text", ["$$", "$${A}", "$A", "${", "${not valid}", "cost: 5$"])
def test_dollar_forms_without_a_reference_stay_as_is(text: str) -> None:
    assert expand({"k": text}, {"A": "1"}) == {"k": text}


def test_expansion_applies_to_values_not_keys() -> None:
    assert expand({"${A}": "${A}"}, {"A": "1"}) == {"${A}": "1"}


def test_unset_variables_are_all_reported_with_their_location() -> None:
    with pytest.raises(UnsetVariables) as caught:
        expand({"x": ["${A}", {"y": "${B}"}]}, {})
    assert caught.value.missing == [(("x", 0), "A"), (("x", 1, "y"), "B")]


def test_expanded_number_is_validated_as_a_number(tmp_path: Path) -> None:
    text = ACCOUNT + "    rate_limits: {DescribeRecordTask: '${RATE:-7.5}'}\n"
    assert load(tmp_path, text).accounts[0].rate_limits == {"DescribeRecordTask": 7.5}


def test_expansion_reads_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    assert load_settings(write(tmp_path, ACCOUNT)).accounts[0].name == "tencent-main"


# --- the example and the settings API ----------------------------------------------------------


EXAMPLE_ENV = {
    **ENV,
    "VOLC_ACCESS_KEY_ID": "AKLTexample",
    "VOLC_SECRET_ACCESS_KEY": "volc-secret",
    "ZEGO_SERVER_SECRET": "zego-secret",
}
CREDENTIALS = ("secret_id", "secret_key", "access_key_id", "secret_access_key", "server_secret")


def test_example_config_loads_when_its_variables_are_set() -> None:
    settings = load_settings(REPO / "config.yaml", EXAMPLE_ENV)
    tencent, volc, zego = settings.accounts
    assert tencent.name == "tencent-main" and tencent.secret_key.get_secret_value() == SECRET
    assert selected_apis(tencent) == ["DescribeRecordTask", "DescribeLivePullStreamTasks"]
    assert rate_for(tencent, "DescribeRecordTask") == 20
    assert (selected_apis(volc), rate_for(volc, "GetPullRecordTask")) == (
        ["ListPullRecordTask"],
        10,
    )
    assert (zego.vendor, rate_for(zego, "DescribeTasks")) == ("zego", 10)
    assert set(settings.secret_values()) == {SECRET, "volc-secret", "zego-secret"}


def test_example_config_takes_every_credential_from_the_environment() -> None:
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    for account in raw["accounts"]:
        for key in CREDENTIALS:
            if key in account:
                assert account[key].startswith("${"), (account["name"], key)


def test_secret_never_in_error_messages(tmp_path: Path) -> None:
    text = (
        ACCOUNT + f"    secretkey: {SECRET}\n    apis: {SECRET}\nretry: {{attempts: '{SECRET}'}}\n"
    )
    assert SECRET not in error_of(write(tmp_path, text))


def test_secret_never_in_repr_or_str(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT + "database: {dsn: 'postgresql://u:pw-XYZ@h/db'}\n")
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert SECRET not in text and "pw-XYZ" not in text


def test_secret_values_cover_credentials_and_database_password(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT + "database: {dsn: 'postgresql://u:p%40ss@h/db'}\n")
    assert set(settings.secret_values()) == {SECRET, "p%40ss", "p@ss"}


def test_database_url_variable_wins_over_the_file(tmp_path: Path) -> None:
    text = ACCOUNT + "database: {dsn: 'postgresql://file@h/db'}\n"
    settings = load(tmp_path, text, {**ENV, "PIPELINE_DATABASE_URL": "postgresql://env@h/db"})
    assert settings.database.dsn is not None
    assert settings.database.dsn.get_secret_value() == "postgresql://env@h/db"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT)
    with pytest.raises(ValueError, match="frozen"):
        settings.retry.attempts = 1  # type: ignore[misc]


def test_account_lookup_by_name(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT)
    assert settings.account("tencent-main") is settings.accounts[0]
    with pytest.raises(ConfigError, match="unknown account 'other'"):
        settings.account("other")


def test_all_vendor_apis_at_documented_rate_by_default(tmp_path: Path) -> None:
    (account,) = load(tmp_path, ACCOUNT).accounts
    assert selected_apis(account) == ["DescribeRecordTask", "DescribeLivePullStreamTasks"]
    assert rate_for(account, "DescribeRecordTask") == 20.0
    assert rate_for(account, "DescribeLivePullStreamTasks") == 30.0


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        ("a.yaml", {"PIPELINE_CONFIG": "b.yaml"}, "a.yaml"),
        (None, {"PIPELINE_CONFIG": "b.yaml"}, "b.yaml"),
        (None, {}, "config.yaml"),
    ],
)
def test_config_path_precedence(cli: str | None, environ: dict[str, str], expected: str) -> None:
    assert resolve_config_path(cli, environ) == Path(expected)


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:p@w@h/db", "postgres://u:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        ("host=h password=pw user=u", "host=h password=*** user=u"),
        ("host=h password='p w' user=u", "host=h password=*** user=u"),
    ],
)
def test_redact_dsn(dsn: str, expected: str) -> None:
    assert redact_dsn(dsn) == expected
