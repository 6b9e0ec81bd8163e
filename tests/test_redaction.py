"""The redaction engine, one kind of credential at a time, and how its key and additions are
configured."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from pipeline.config import Settings, load_settings
from pipeline.errors import ConfigError
from pipeline.redaction import PREFIX, Redaction, Redactor
from pipeline.vendors.tencent.pull_tasks import PullStreamTasks

KEY = b"unit-test-redaction-key"
TENCENT = Redactor(KEY, PullStreamTasks().redaction)
DIGEST = re.compile(r"^redacted:hmac-sha256:[0-9a-f]{16}$")


def digest(value: str, key: bytes = KEY) -> str:
    return Redactor(key).digest(value)


# --- each kind ---------------------------------------------------------------------------------


def test_a_declared_field_is_replaced_whole() -> None:
    raw = {"TaskId": "1", "PushArgs": "txSecret=0f1e2d&txTime=6a1b2c3d"}
    assert TENCENT.record(raw) == {"TaskId": "1", "PushArgs": digest(raw["PushArgs"])}


def test_an_empty_declared_field_stays_empty() -> None:
    raw = {"TaskId": "1", "PushArgs": ""}
    assert TENCENT.record(raw) is raw


def test_a_url_user_and_password_are_replaced() -> None:
    raw = {"SourceUrls": ["rtmp://relay:pa@ss@src.example.com/live/a", "rtmp://src/live/b"]}
    assert TENCENT.record(raw)["SourceUrls"] == [
        f"rtmp://{digest('relay:pa@ss')}@src.example.com/live/a",
        "rtmp://src/live/b",
    ]


@pytest.mark.parametrize(
    "name",
    ["txSecret", "auth_key", "token", "sign", "Signature", "secret", "KEY", "password", "passwd",
     "access_token", "X-Amz-Signature", "wsSecret", "StreamKey"],
)  # fmt: skip
def test_a_credential_parameter_is_replaced_and_its_neighbours_kept(name: str) -> None:
    url = f"https://cdn.example.com/live/a.flv?region=gz&{name}=s3cr3t&n=1#top"
    expected = f"https://cdn.example.com/live/a.flv?region=gz&{name}={digest('s3cr3t')}&n=1#top"
    assert TENCENT.record({"CallbackUrl": url}) == {"CallbackUrl": expected}


def test_parameters_are_found_in_any_string_not_only_urls() -> None:
    raw = {"Comment": "pushed with txSecret=abc&txTime=65 by ops", "Note": "monkey business"}
    assert TENCENT.record(raw) == {
        "Comment": f"pushed with txSecret={digest('abc')}&txTime={digest('65')} by ops",
        "Note": "monkey business",
    }


def test_txtime_is_replaced_only_beside_a_txsecret() -> None:
    raw = {"Url": "rtmp://push.example.com/live/a?txTime=65&quality=hd"}
    assert TENCENT.record(raw) is raw


def test_a_field_named_like_a_credential_is_replaced_whole() -> None:
    raw = {"TaskId": "1", "Extra": {"StreamKey": "abc", "Tokens": ["t1", "t2"], "Zone": "gz"}}
    assert TENCENT.record(raw) == {
        "TaskId": "1",
        "Extra": {"StreamKey": digest("abc"), "Tokens": [digest("t1"), digest("t2")], "Zone": "gz"},
    }


def test_a_declared_path_walks_nested_objects_and_lists() -> None:
    redactor = Redactor(KEY, Redaction(fields=("WatermarkList.PictureUrl",)))
    raw = {"WatermarkList": [{"PictureUrl": "https://img/a.png", "Width": 10}, {"Width": 5}]}
    assert redactor.record(raw) == {
        "WatermarkList": [{"PictureUrl": digest("https://img/a.png"), "Width": 10}, {"Width": 5}]
    }


def test_an_account_parameter_adds_to_the_rule() -> None:
    redactor = Redactor(KEY, Redaction(parameters=("session",)))
    assert (
        redactor.text("https://h/p?session=abc&page=2")
        == f"https://h/p?session={digest('abc')}&page=2"
    )


# --- the digests ---------------------------------------------------------------------------------


def test_a_digest_is_stable_and_short() -> None:
    assert digest("txSecret=abc") == digest("txSecret=abc")
    assert DIGEST.match(digest("txSecret=abc"))
    assert digest("txSecret=abc") != digest("txSecret=abd")


def test_a_digest_depends_on_the_key() -> None:
    assert digest("txSecret=abc") != digest("txSecret=abc", key=b"another-redaction-key")


def test_redacting_twice_changes_nothing() -> None:
    raw = {"PushArgs": "txSecret=a&txTime=b", "SourceUrls": ["rtmp://u:p@h/x?auth_key=1-0-0-f"]}
    once = TENCENT.record(raw)
    assert TENCENT.record(once) is once
    assert all(PREFIX in value for value in (once["PushArgs"], once["SourceUrls"][0]))


def test_a_record_without_credentials_is_returned_as_served() -> None:
    raw = {"TaskId": "9", "SourceUrls": ["https://vod/a.mp4?x=1"], "Times": [1, 2.5, None, True]}
    assert TENCENT.record(raw) is raw


def test_the_rest_of_a_record_stays_as_served() -> None:
    raw = {"TaskId": "9", "PushArgs": "txSecret=a", "Nested": {"List": [1, "a=b"]}, "N": 1.5}
    redacted = TENCENT.record(raw)
    assert {k: v for k, v in redacted.items() if k != "PushArgs"} == {
        k: v for k, v in raw.items() if k != "PushArgs"
    }
    assert redacted["Nested"] is raw["Nested"]
    assert raw["PushArgs"] == "txSecret=a"  # the record read is never changed in place


# --- configuration -------------------------------------------------------------------------------

ACCOUNT = """\
accounts:
  - name: tencent-main
    vendor: tencent
    secret_id: AKIDexample
    secret_key: secret-key-for-tests
"""


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_settings(path, environ or {})


def test_the_key_comes_from_the_environment_by_default(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT, {"PIPELINE_REDACTION_KEY": "k" * 20})
    assert settings.redaction.required_key() == b"k" * 20
    assert "k" * 20 in settings.secret_values()  # so the logs mask it too


def test_without_a_key_the_error_names_the_variable(tmp_path: Path) -> None:
    settings = load(tmp_path, ACCOUNT)
    with pytest.raises(ConfigError, match="PIPELINE_REDACTION_KEY"):
        settings.redaction.required_key()


def test_a_short_key_is_a_config_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"redaction\.key: .*16 characters.*PIPELINE_REDACTION"):
        load(tmp_path, ACCOUNT, {"PIPELINE_REDACTION_KEY": "short"})


def test_an_account_adds_fields_and_parameters(tmp_path: Path) -> None:
    text = ACCOUNT + "    redact: {fields: [Comment, RecentPullInfo.FileUrl], parameters: [sid]}\n"
    account = load(tmp_path, text).accounts[0]
    assert account.redact.declared() == Redaction(("Comment", "RecentPullInfo.FileUrl"), ("sid",))


@pytest.mark.parametrize(
    ("redact", "named"),
    [
        ("{fields: ['']}", "redact.fields[0]"),
        ("{fields: [a..b]}", "redact.fields[0]"),
        ("{parameters: ['a=b']}", "redact.parameters[0]"),
        ("{field: [Comment]}", "redact.field"),
    ],
)
def test_a_mistake_in_an_account_s_redact_names_the_account_and_key(
    tmp_path: Path, redact: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, ACCOUNT + f"    redact: {redact}\n")
    assert "tencent-main" in str(caught.value) and named in str(caught.value)
