"""Logging: JSON lines with run/account/API context, console mode, and secrets never written."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import structlog
from structlog.testing import capture_logs

from pipeline.logs import bind_run, bound, configure_logging

SECRET = "sk-DISTINCTIVE-7f3a9c"
log = structlog.get_logger("tests.logs")


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


@pytest.fixture
def out() -> io.StringIO:
    stream = io.StringIO()
    configure_logging(json=True, secrets=[SECRET], stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_carries_run_account_and_api(out: io.StringIO) -> None:
    bind_run("run-1")
    with bound(account="tencent-main", api="DescribeRecordTask"):
        log.info("window.done", rows=3)
    (line,) = lines(out)
    assert line["run_id"] == "run-1" and line["rows"] == 3
    assert (line["account"], line["api"], line["event"]) == (
        "tencent-main",
        "DescribeRecordTask",
        "window.done",
    )


def test_json_line_has_utc_iso_timestamp_and_level(out: io.StringIO) -> None:
    log.warning("request.retry")
    (line,) = lines(out)
    assert line["level"] == "warning"
    assert line["timestamp"].endswith("Z")
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0)


def test_bound_context_ends_with_its_block(out: io.StringIO) -> None:
    with bound(account="a", api="b"):
        pass
    log.info("after")
    assert "account" not in lines(out)[0] and "api" not in lines(out)[0]


def test_level_below_the_configured_one_is_dropped(out: io.StringIO) -> None:
    log.debug("noise")
    assert out.getvalue() == ""


def test_secret_as_a_value_is_masked(out: io.StringIO) -> None:
    log.info("auth", key=SECRET)
    assert SECRET not in out.getvalue() and lines(out)[0]["key"] == "***"


def test_secret_nested_in_dicts_and_lists_is_masked(out: io.StringIO) -> None:
    log.info("request", params={"outer": [{"k": SECRET}, (SECRET,)]}, **{SECRET: 1})
    assert SECRET not in out.getvalue()


def test_secret_inside_an_exception_message_is_masked(out: io.StringIO) -> None:
    try:
        raise RuntimeError(f"signing failed with {SECRET}")
    except RuntimeError:
        log.exception("request.failed")
    assert SECRET not in out.getvalue() and "signing failed with ***" in out.getvalue()


def test_secret_in_an_exception_object_value_is_masked(out: io.StringIO) -> None:
    log.error("request.failed", error=ValueError(SECRET))
    assert SECRET not in out.getvalue()


def test_secret_within_a_longer_string_is_masked(out: io.StringIO) -> None:
    log.info(f"url=https://x/?k={SECRET}&b=1")
    assert lines(out)[0]["event"] == "url=https://x/?k=***&b=1"


def test_url_encoded_secret_is_masked() -> None:
    stream = io.StringIO()
    configure_logging(json=True, secrets=["a/b+c"], stream=stream)
    log.info("q", query="key=a%2Fb%2Bc")
    assert "a%2Fb%2Bc" not in stream.getvalue()


@pytest.mark.parametrize(
    ("value", "hidden"),
    [
        ("Authorization: TC3-HMAC-SHA256 Credential=AKID/x, Signature=ab12", "AKID"),
        ("{'Authorization': 'HMAC-SHA256 Credential=AK2/x'}", "AK2"),
        ("GET /?Action=X&Signature=0123abcdef&Nonce=1", "0123abcdef"),
        ("connect postgresql://user:hunter2@db:5432/x", "hunter2"),
        ("host=db password=hunter2 user=u", "hunter2"),
    ],
)
def test_credential_patterns_are_masked(out: io.StringIO, value: str, hidden: str) -> None:
    log.info("http", detail=value)
    assert hidden not in out.getvalue()


def test_authorization_header_in_a_headers_dict_is_masked(out: io.StringIO) -> None:
    log.info("http", headers={"Authorization": "anything at all", "Host": "h"})
    assert lines(out)[0]["headers"] == {"Authorization": "***", "Host": "h"}


def test_console_mode_renders_text_not_json() -> None:
    stream = io.StringIO()
    configure_logging(json=False, secrets=[SECRET], stream=stream)
    bind_run("run-2")
    log.info("sync.start", key=SECRET)
    text = stream.getvalue()
    assert "sync.start" in text and "run_id=run-2" in text and SECRET not in text
    assert "\x1b[" not in text  # no colours on a stream that is not a terminal
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stdout", "is_json"), [(io.StringIO(), True), (_Terminal(), False)])
def test_json_by_default_only_when_stdout_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, stdout: io.StringIO, is_json: bool
) -> None:
    monkeypatch.setattr(sys, "stdout", stdout)
    stream = io.StringIO()
    configure_logging(stream=stream)
    log.info("x")
    assert stream.getvalue().startswith("{") is is_json


def test_configuring_again_replaces_the_stream_and_secrets() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(json=True, secrets=["one-secret"], stream=first)
    configure_logging(json=True, secrets=["two-secret"], stream=second)
    log.info("x", a="one-secret", b="two-secret")
    (line,) = lines(second)
    assert first.getvalue() == "" and (line["a"], line["b"]) == ("one-secret", "***")


def test_capture_logs_sees_events(out: io.StringIO) -> None:
    with capture_logs() as captured:
        log.info("window.done", rows=2)
    assert captured == [{"event": "window.done", "rows": 2, "log_level": "info"}]


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging(level="chatty")
