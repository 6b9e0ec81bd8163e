"""Properties over broken input: a broken config, page or record is an error the pipeline names.

Config files → Settings or a ConfigError that starts with the path and hides secrets; vendor
bodies → a dict or a SourceError; pages → a ListPage or a PagingError; records → a Task or a
Rejection. Inputs that once crashed are kept as regression tests at the end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from pipeline.cli import run_cli
from pipeline.config import load_settings
from pipeline.errors import ConfigError, PagingError, SourceError
from pipeline.listing import ListPage
from pipeline.model import Rejection, Task
from pipeline.source import HttpResponse
from pipeline.vendors import VENDORS
from pipeline.vendors.tencent import pull_tasks, record_tasks
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.volcengine import pull_record_tasks
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks
from pipeline.vendors.zego import tasks as zego_tasks
from pipeline.vendors.zego.account import ZegoAccount

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NOW = datetime(2026, 1, 10, 12, tzinfo=UTC)

# --- values --------------------------------------------------------------------------------

HUGE = st.sampled_from([2**31, 2**53 + 1, 2**63, -(2**63), 10**12, 10**20, 10**400])
SCALARS = st.none() | st.booleans() | st.integers() | HUGE | st.floats() | st.text(max_size=16)
JSON = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=10,
)
OFFSETS = st.builds(timezone, st.timedeltas(-timedelta(hours=23), timedelta(hours=23)))
NAIVE_TIMES = st.builds(lambda d, sep: d.isoformat(sep=sep), st.datetimes(), st.sampled_from("T "))
AWARE_TIMES = st.datetimes(timezones=OFFSETS).map(datetime.isoformat)
ODD_STRINGS = st.sampled_from(
    ["", " ", "yesterday", "now", "0", "-1", "1e400", "NaN", "null", "\x00", "é中文", "2026-01-10",
     "2026-13-45T00:00:00Z", "9999-12-31T23:59:59-01:00", "1700000000", "true", "[]"]
)  # fmt: skip
ODD = JSON | HUGE | ODD_STRINGS | NAIVE_TIMES | AWARE_TIMES
ENV_REFS = st.sampled_from(
    ["${", "${}", "${1BAD}", "${UNSET}", "${UNSET:-}", "${UNSET:-x}", "$${SET}", "${SET}",
     "${EMPTY}", "${EMPTY:-fallback}", "${SET:-${UNSET}}", "x${UNSET}y${ALSO_UNSET}"]
)  # fmt: skip
ENVIRON = {"SET": "value", "EMPTY": ""}


# --- config files --------------------------------------------------------------------------

SCHEMA_KEYS = [
    "database", "accounts", "http", "retry", "concurrency", "dsn", "timeout_seconds",
    "ca_bundle", "attempts", "initial_wait", "max_wait", "total_timeout", "windows_per_source",
    "name", "vendor", "endpoint", "apis", "rate_limits", "secret_id", "secret_key", "region",
    "language", "access_key_id", "secret_access_key", "app_id", "server_secret",
]  # fmt: skip
APIS = [api for vendor in VENDORS.values() for api in vendor.rated_apis]
WRONG = st.recursive(
    SCALARS | ENV_REFS,
    lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8) | st.integers(), kids,
                      max_size=3),
    max_leaves=8,
)  # fmt: skip
SECRET_CORE = st.text("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", min_size=16)


def section(fields: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Each key of a section valid, wrong or left out, plus sometimes an unknown key."""
    keys = st.dictionaries(st.sampled_from(SCHEMA_KEYS) | st.text(max_size=8), WRONG, max_size=2)
    known = st.fixed_dictionaries({}, optional={k: v | WRONG for k, v in fields.items()})
    return st.builds(lambda extra, doc: {**extra, **doc}, keys, known)


def account(secret: str) -> st.SearchStrategy[dict[str, Any]]:
    secret_value = st.sampled_from([f"s-{secret}", "${SECRET}", "${SECRET:-x}"])
    common = {
        "name": st.from_regex(r"[A-Za-z0-9_.@-]{1,10}", fullmatch=True) | st.text(max_size=6),
        "vendor": st.sampled_from([*VENDORS, "Tencent", "aws", ""]),
        "endpoint": st.sampled_from(["http://127.0.0.1:9", "", "not a url"]),
        "apis": st.lists(st.sampled_from([*APIS, "Nope"]), max_size=3),
        "rate_limits": st.dictionaries(st.sampled_from([*APIS, "Nope"]), st.floats(), max_size=2),
        "region": st.text(max_size=8),
    }
    per_vendor = [
        {"secret_id": st.text(max_size=8), "secret_key": secret_value,
         "language": st.sampled_from(["zh-CN", "en-US", "fr"])},
        {"access_key_id": st.text(max_size=8), "secret_access_key": secret_value},
        {"app_id": st.integers() | HUGE, "server_secret": secret_value},
    ]  # fmt: skip
    return st.one_of(*(section({**common, **fields}) for fields in per_vendor))


@st.composite
def broken_configs(draw: st.DrawFn) -> tuple[str, str]:
    """A config document with wrong types, unknown keys and bad references; and its secret."""
    secret = draw(SECRET_CORE)
    floats = st.floats() | st.integers() | HUGE
    doc = draw(
        section(
            {
                "database": section({"dsn": st.just(f"postgresql://u:p-{secret}@h/db")}),
                "accounts": st.lists(account(secret) | WRONG, max_size=3),
                "http": section({"timeout_seconds": floats, "ca_bundle": st.text(max_size=8)}),
                "retry": section(
                    {k: floats for k in ("attempts", "initial_wait", "max_wait", "total_timeout")}
                ),
                "concurrency": section({"windows_per_source": floats}),
            }
        )
    )
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), secret


GOOD_TEXT = """\
accounts:
  - name: tencent-main
    vendor: tencent
    secret_id: AKIDexample
    secret_key: ${SECRET}
    apis: [DescribeRecordTask]
    rate_limits: {DescribeRecordTask: 500}
retry: {attempts: 3, initial_wait: 0.001, max_wait: 0.01}
"""
YAML_TOKENS = st.sampled_from(
    [":", ": ", "- ", "[", "]", "{", "}", "\t", "\n", "  ", "? ", "|", ">", "'", '"', "%", "@",
     "`", "#", "<<: ", "---\n", "...\n", "\\", "&a ", "*b", "!!str ", "!!binary ", "!!set ",
     "${", "~", "9" * 40, "\ufeff", "\x85", "!!int ", "!!bool ", "!!timestamp ", "2024-13-45",
     "*a"]
)  # fmt: skip


@st.composite
def mangled_configs(draw: st.DrawFn) -> str:
    """A valid config with a few YAML tokens or characters put in and a few cut out."""
    text = GOOD_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 6))
        text = text[:at] + draw(YAML_TOKENS | st.text(max_size=3)) + text[at + cut :]
    return text


@st.composite
def literal_secrets(draw: st.DrawFn) -> tuple[str, str, str]:
    """A config whose secret is written as a plain YAML scalar; its random core; its lead."""
    core = draw(SECRET_CORE)
    lead = draw(st.sampled_from(["", "*", "!", "!!", "&", "%", "@", "`", "'", '"', "[", "{", "|"]))
    tail = draw(st.sampled_from(["", ": x", " #x", "\t", "]"]))
    return GOOD_TEXT.replace("${SECRET}", lead + core + tail), core, lead


def load_or_error(path: Path, content: str | bytes, environ: Mapping[str, str]) -> str | None:
    """The ConfigError message of the file, None if it is valid; any other exception escapes."""
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    try:
        load_settings(path, environ)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: "), message
        return message
    return None


@FAST
@given(config=broken_configs(), with_dsn_env=st.booleans())
def test_a_broken_config_is_settings_or_a_config_error_without_secrets(
    tmp_path: Path, config: tuple[str, str], with_dsn_env: bool
) -> None:
    text, secret = config
    environ = {**ENVIRON, "SECRET": f"e-{secret}"}
    if with_dsn_env:
        environ["PIPELINE_DATABASE_URL"] = f"postgresql://u:d-{secret}@h/db"
    message = load_or_error(tmp_path / "config.yaml", text, environ)
    assert message is None or secret not in message


@FAST
@given(content=mangled_configs() | st.text(max_size=60) | st.binary(max_size=60))
def test_mangled_yaml_and_junk_bytes_are_config_errors(
    tmp_path: Path, content: str | bytes
) -> None:
    environ = {**ENVIRON, "SECRET": "the-secret-value-123"}
    message = load_or_error(tmp_path / "config.yaml", content, environ)
    assert message is None or "the-secret-value-123" not in message


@FAST
@given(config=literal_secrets())
def test_a_secret_written_literally_stays_out_of_syntax_errors(
    tmp_path: Path, config: tuple[str, str, str]
) -> None:
    text, core, _lead = config
    message = load_or_error(tmp_path / "config.yaml", text, ENVIRON)
    assert message is None or core not in message


BROKEN_FOR_CLI = [
    "accounts: [\n",
    "\x00\x01binary",
    "- just\n- a list\n",
    "",
    "accounts:\n  - {name: a, vendor: tencent, secret_id: x, secret_key: ${NOT_SET_ANYWHERE}}\n",
    "accounts:\n  - {name: a, vendor: nope}\nretry: {attempts: [1]}\nextra: 1\n",
    "accounts: {name: a}\nhttp: 5\n",
    GOOD_TEXT.replace("[DescribeRecordTask]", "[DescribeRecordTask, Nope]"),
]


@pytest.mark.parametrize("text", BROKEN_FOR_CLI)
def test_the_cli_exits_2_without_a_traceback(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert asyncio.run(run_cli(["sync", "--config", str(path)])) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"configuration error: {path}: " in err


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=broken_configs())
def test_the_cli_exits_2_on_generated_broken_configs(
    tmp_path: Path, config: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    text, secret = config
    path = tmp_path / "config.yaml"
    assume(load_or_error(path, text, {**ENVIRON, "SECRET": secret}) is not None)
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**ENVIRON, "SECRET": secret}.items():
            env.setenv(name, value)
        env.delenv("PIPELINE_DATABASE_URL", raising=False)
        assert asyncio.run(run_cli(["sync", "--config", str(path)])) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and secret not in err


# --- vendor bodies -------------------------------------------------------------------------

CLIENTS = {
    "tencent": VENDORS["tencent"].make_client(
        TencentAccount(name="t", vendor="tencent", secret_id="id", secret_key=SecretStr("k"))
    ),
    "volcengine": VENDORS["volcengine"].make_client(
        VolcengineAccount(
            name="v", vendor="volcengine", access_key_id="ak", secret_access_key=SecretStr("k")
        )
    ),
    "zego": VENDORS["zego"].make_client(
        ZegoAccount(name="z", vendor="zego", app_id=1, server_secret=SecretStr("k"))
    ),
}


def near(fields: Mapping[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """A dict with some of `fields`, each right-ish or junk; now and then junk, not a dict."""
    known = st.fixed_dictionaries({}, optional={k: v | JSON for k, v in fields.items()})
    return st.one_of(known, known, known, JSON)


ERROR = near({"Code": st.sampled_from(["InternalError", "AuthFailure", "", "X.Y"]),
              "Message": st.text(max_size=8), "CodeN": st.integers()})  # fmt: skip
ENVELOPES = {
    "tencent": near({"Response": near({"Error": ERROR, "RequestId": st.text(max_size=8),
                                       "TaskList": st.lists(JSON, max_size=2)})}),
    "volcengine": near({"ResponseMetadata": near({"Error": ERROR, "RequestId": JSON}),
                        "Result": near({"List": st.lists(JSON, max_size=2)})}),
    "zego": near({"Code": st.sampled_from([0, 1, 300000003, 100000004, True]) | st.integers(),
                  "Message": JSON, "RequestId": JSON, "Data": near({"TotalCount": st.integers()})}),
}  # fmt: skip
ODD_BODIES = st.binary(max_size=40) | st.sampled_from(
    [b"", b"null", b"[]", b'"x"', b"NaN", b"\xef\xbb\xbf{}", b'{"Response": {}',
     '{"Code": 0, "Data": {}}'.encode("utf-16"), b'{"Code": ' + b"9" * 5000 + b"}"]
)  # fmt: skip
STATUSES = st.one_of(
    st.just(200),
    st.just(200),
    st.sampled_from([400, 401, 404, 429, 500, 503]),
    st.integers(100, 599),
)
HEADERS = st.dictionaries(st.sampled_from(["Retry-After", "retry-after"]), st.text(max_size=6))


def bodies(vendor: str) -> st.SearchStrategy[bytes]:
    def encoded(values: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
        return st.builds(lambda v, a: json.dumps(v, ensure_ascii=a).encode(), values, st.booleans())

    return st.one_of(
        encoded(ENVELOPES[vendor]), encoded(ENVELOPES[vendor]), encoded(JSON), ODD_BODIES
    )


@pytest.mark.parametrize("vendor", CLIENTS)
@FAST
@given(data=st.data())
def test_a_malformed_body_is_a_payload_or_a_source_error(vendor: str, data: st.DataObject) -> None:
    response = HttpResponse(data.draw(STATUSES), data.draw(HEADERS), data.draw(bodies(vendor)))
    api = next(iter(VENDORS[vendor].sources))
    try:
        payload = CLIENTS[vendor].parse(api, response)
    except SourceError as exc:
        assert str(exc)
    else:
        assert isinstance(payload, dict)


# --- pages ---------------------------------------------------------------------------------

COUNT = st.integers() | HUGE
PAGES: dict[str, tuple[Callable[[Any, str], ListPage], st.SearchStrategy[Any]]] = {
    "tencent pull": (pull_tasks._page, near({"TaskInfos": st.lists(JSON, max_size=3),
                                             "TotalNum": COUNT, "TotalPage": COUNT,
                                             "PageNum": COUNT})),
    "volcengine": (pull_record_tasks._page, near({"List": st.lists(JSON, max_size=3),
                                                 "Pagination": near({"TotalCount": COUNT,
                                                                     "PageTotal": COUNT})})),
    "zego": (zego_tasks._page, near({"TotalCount": COUNT, "TaskidList": st.lists(JSON, max_size=3),
                                     "TaskList": st.lists(JSON, max_size=3)})),
}  # fmt: skip


@pytest.mark.parametrize("name", PAGES)
@FAST
@given(data=st.data())
def test_a_malformed_page_is_a_list_page_or_a_paging_error(name: str, data: st.DataObject) -> None:
    parse, results = PAGES[name]
    result = data.draw(results.filter(lambda r: isinstance(r, dict)))
    try:
        page = parse(result, "Api")
    except PagingError:
        return
    assert isinstance(page, ListPage)
    assert isinstance(page.records, list) and isinstance(page.total, int)
    assert isinstance(page.pages, int)


@FAST
@given(result=near({"TaskDetail": near({"TaskId": JSON})}).filter(lambda r: isinstance(r, dict)))
def test_a_volcengine_detail_is_always_a_mapping(result: dict[str, Any]) -> None:
    assert isinstance(pull_record_tasks._detail(result), Mapping)


# --- records -------------------------------------------------------------------------------

TENCENT_RECORD = {"TaskId": "UpTbk5RSVh", "DomainName": "5000.live.push.com", "AppName": "live",
                  "StreamName": "livetest", "StartTime": 1595779900, "EndTime": 1595789900,
                  "TemplateId": 123, "Stopped": 1595783500}  # fmt: skip
SOURCES: dict[str, tuple[Any, dict[str, Any]]] = {
    "tencent record": (record_tasks.RecordTasks(), TENCENT_RECORD),
    "tencent pull": (pull_tasks.PullStreamTasks(), generate_pull_tasks(1768000000, 1)[0]),
    "volcengine": (
        pull_record_tasks.PullRecordTasks(),
        generate_pull_record_tasks(1768000000, 1)[0],
    ),
    "zego": (
        zego_tasks.DescribeTasks(),
        {"RecordBeginTimestamp": 1628565227899, "TaskId": "YRHu6-E4", "RoomId": "1", "Status": 2},
    ),
}
EXTRA_KEYS = st.text(max_size=10) | st.sampled_from(
    ["model_config", "model_fields", "__class__", "__dict__", "_private", "taskid", "TaskID"]
)
DATETIME_MAX = datetime.max.replace(tzinfo=UTC).timestamp()


@st.composite
def near_records(draw: st.DrawFn, example: dict[str, Any]) -> Any:
    """Mostly the example with a key left out, nulled or made odd, plus added keys; or junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    record = draw(st.dictionaries(EXTRA_KEYS, JSON, max_size=2))
    for key, value in example.items():
        how = draw(st.sampled_from(["keep", "keep", "keep", "odd", "drop", "null"]))
        if how == "keep":
            record[key] = value
        elif how == "null":
            record[key] = None
        elif how == "odd":
            record[key] = draw(ODD)
    return record


@pytest.mark.parametrize("name", SOURCES)
@FAST
@given(data=st.data())
def test_a_malformed_record_is_a_task_or_a_rejection(name: str, data: st.DataObject) -> None:
    source, example = SOURCES[name]
    raw = data.draw(near_records(example))
    item = source.normalize(raw, NOW)
    assert item.raw is raw
    if isinstance(item, Rejection):
        assert isinstance(item.reason, str) and item.reason
        assert item.task_id is None or isinstance(item.task_id, str)
        return
    assert isinstance(item, Task)
    assert isinstance(item.task_id, str) and item.task_id
    for moment in (item.start_time, item.end_time):
        assert moment is None or moment.utcoffset() is not None


@pytest.mark.parametrize("name", ["tencent pull", "volcengine"])
@FAST
@given(data=st.data())
def test_a_naive_timestamp_is_rejected_naming_its_field(name: str, data: st.DataObject) -> None:
    source, example = SOURCES[name]
    field = data.draw(st.sampled_from(["StartTime", "EndTime"]))
    item = source.normalize({**example, field: data.draw(NAIVE_TIMES)}, NOW)
    assert isinstance(item, Rejection) and item.reason.startswith(f"{field}: ")
    assert item.task_id == example["TaskId"]


# --- inputs that once crashed: each is a regression test now ----------------------------------

YAML_CRASHES = {
    "a 5000-digit int": "retry:\n  attempts: " + "9" * 5000 + "\n",
    "an impossible date": "retry:\n  attempts: 2024-13-45\n",
    "!!int on text": "retry:\n  attempts: !!int abc\n",
    "!!bool on text": "retry:\n  attempts: !!bool maybe\n",
    "!!timestamp on text": "retry:\n  attempts: !!timestamp soon\n",
    "deep nesting": "accounts: " + "[" * 600 + "\n",
    "a self-referencing alias": "accounts: &a [*a]\n",
}


@pytest.mark.parametrize("text", YAML_CRASHES.values(), ids=list(YAML_CRASHES))
def test_yaml_pyyaml_cannot_build_is_a_config_error(tmp_path: Path, text: str) -> None:
    """read_yaml catches only yaml.YAMLError, so PyYAML's ValueError, KeyError, AttributeError
    and RecursionError escape; `expand` recurses forever on a self-referencing alias."""
    assert load_or_error(tmp_path / "config.yaml", text, ENVIRON) is not None


@pytest.mark.parametrize("text", [YAML_CRASHES["an impossible date"]])
def test_the_cli_shows_a_traceback_for_yaml_pyyaml_cannot_build(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same escape, seen from the command line: run_cli raises instead of exiting 2."""
    test_the_cli_exits_2_without_a_traceback(tmp_path, text, capsys)


@pytest.mark.parametrize("lead", ["*", "!"])
def test_a_literal_secret_starting_with_star_or_bang_is_not_echoed(
    tmp_path: Path, lead: str
) -> None:
    """The YAML problem text quotes an alias or tag name: here, the secret itself."""
    text = GOOD_TEXT.replace("${SECRET}", f"{lead}Xk29sLq0pZ7mWq4e")
    assert "Xk29sLq0pZ7mWq4e" not in (load_or_error(tmp_path / "c.yaml", text, ENVIRON) or "")


@pytest.mark.parametrize("vendor", CLIENTS)
def test_a_deeply_nested_body_is_a_transport_error(vendor: str) -> None:
    """json.loads raises RecursionError, which no client catches."""
    with pytest.raises(SourceError):
        CLIENTS[vendor].parse("Api", HttpResponse(200, {}, b"[" * 100_000))


@pytest.mark.parametrize("name", PAGES)
def test_a_total_past_float_range_is_a_paging_error(name: str) -> None:
    """`math.ceil(total / PAGE_SIZE)` raises OverflowError for a total above ~1.8e308 * size."""
    result = {
        "TotalNum": 10**400,
        "TotalCount": 10**400,
        "TaskInfos": [],
        "List": [],
        "TaskidList": [],
    }
    result["Pagination"] = {"TotalCount": 10**400}
    with pytest.raises(PagingError):
        PAGES[name][0](result, "Api")


OUT_OF_RANGE = {
    "tencent record ms": ("tencent record", {**TENCENT_RECORD, "StartTime": 1595779900000,
                                             "EndTime": 1595789900000}),
    "zego huge ms": ("zego", {**SOURCES["zego"][1], "RecordBeginTimestamp": 10**17}),
    "volcengine year 9999 west": ("volcengine", {**SOURCES["volcengine"][1],
                                                 "EndTime": "9999-12-31T23:59:59-01:00"}),
    "tencent pull year 1 east": ("tencent pull", {**SOURCES["tencent pull"][1],
                                                  "StartTime": "0001-01-01T00:00:00+01:00"}),
}  # fmt: skip


@pytest.mark.parametrize("case", OUT_OF_RANGE.values(), ids=list(OUT_OF_RANGE))
def test_a_time_outside_the_datetime_range_is_a_rejection(
    case: tuple[str, dict[str, Any]],
) -> None:
    """fromtimestamp and astimezone raise ValueError/OverflowError outside years 1..9999, inside
    normalize (not inside pydantic validation): the whole source fails instead of one record."""
    name, raw = case
    assert isinstance(SOURCES[name][0].normalize(raw, NOW), Rejection)
