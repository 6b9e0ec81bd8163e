"""Shards: every source belongs to exactly one of N, the same one on every run, and a worker is
told its shard by --shard, PIPELINE_SHARD, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import run_cli
from pipeline.errors import ConfigError
from pipeline.metrics import write_metrics
from pipeline.runner import RunReport
from pipeline.shards import Shard, parse_shard, resolve_shard, shard_of
from pipeline.vendors import VENDORS
from tests.toyvendor import VENDOR as TOY
from tests.toyvendor import registered
from tests.toyvendor.source import ToyTasks

# Every list API of the real vendors, for 60 accounts each.
SOURCES = [
    (vendor.name, f"{vendor.name}-{n:02d}", api)
    for vendor in VENDORS.values()
    for n in range(60)
    for api in vendor.sources
]


def owners(source: tuple[str, str, str], count: int) -> list[int]:
    return [index for index in range(count) if Shard(index, count).owns(*source)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_every_source_is_in_exactly_one_shard(count: int) -> None:
    assert all(len(owners(source, count)) == 1 for source in SOURCES)


def test_the_shards_share_the_sources_evenly() -> None:
    sizes = Counter(owners(source, 4)[0] for source in SOURCES)
    assert sorted(sizes) == [0, 1, 2, 3]
    assert max(sizes.values()) < 1.3 * len(SOURCES) / 4


# Pinned: a release that moved these would send every deployed worker other sources than the
# ones it synced before (the locks would keep it correct, but each round would start cold).
PINNED = {
    "tencent-main/DescribeRecordTask": [0, 0, 2, 2, 4],
    "tencent-main/DescribeLivePullStreamTasks": [0, 1, 1, 1, 1],
    "volc-main": [0, 0, 0, 0, 6],
    "zego-main/DescribeTasks": [0, 0, 2, 2, 2],
}
COUNTS = (1, 2, 3, 4, 8)


def test_a_source_keeps_its_shard_across_releases() -> None:
    assert {unit: [shard_of(unit, n) for n in COUNTS] for unit in PINNED} == PINNED


def test_a_source_keeps_its_shard_in_another_process_whatever_its_hash_seed() -> None:
    code = (
        "from pipeline.shards import shard_of; "
        f"print([[shard_of(u, n) for n in {COUNTS}] for u in {list(PINNED)}])"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    argv = [sys.executable, "-c", code]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    assert out.stdout.strip() == str(list(PINNED.values()))


def test_one_more_worker_takes_its_share_from_the_others_and_moves_nothing_else() -> None:
    units = [f"acct-{n}/DescribeTasks" for n in range(2_000)]
    moved = [u for u in units if shard_of(u, 4) != shard_of(u, 5)]
    assert {shard_of(u, 5) for u in moved} == {4}  # only to the new shard
    assert 0.15 < len(moved) / len(units) < 0.25  # about 1/5


@pytest.fixture
def toy_with_helper() -> Iterator[None]:
    """The toy vendor with two list APIs that both call a helper API with its own limit."""
    sources = {api: ToyTasks(api=api) for api in ("ListToys", "ListMoreToys")}
    vendor = dataclasses.replace(TOY, sources=sources, helper_apis={"GetToy": 5.0})
    with registered(vendor):
        yield


@pytest.mark.usefixtures("toy_with_helper")
def test_the_apis_of_an_account_that_share_a_helper_limit_share_a_shard() -> None:
    for n in range(100):
        assert owners(("toy", f"toy-{n}", "ListToys"), 4) == owners(
            ("toy", f"toy-{n}", "ListMoreToys"), 4
        )


def test_apis_of_an_account_without_a_shared_limit_are_sharded_apart() -> None:
    # Tencent's two list APIs have limits of their own: over many accounts, some split.
    apis = list(VENDORS["tencent"].sources)
    split = [
        n for n in range(100) if len({owners(("tencent", f"t-{n}", api), 4)[0] for api in apis}) > 1
    ]
    assert len(split) > 50


# --- which shard a worker is -------------------------------------------------------------


def test_no_shard_named_means_every_source() -> None:
    assert resolve_shard(None, {}) is None


def test_the_option_names_the_shard() -> None:
    assert resolve_shard("1/3", {}) == Shard(1, 3)


def test_the_option_wins_over_the_environment() -> None:
    env = {"PIPELINE_SHARD": "0/2", "PIPELINE_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "3"}
    assert resolve_shard("1/2", env) == Shard(1, 2)


def test_pipeline_shard_names_it_without_the_option() -> None:
    env = {"PIPELINE_SHARD": "2/4", "PIPELINE_SHARD_COUNT": "8", "JOB_COMPLETION_INDEX": "7"}
    assert resolve_shard(None, env) == Shard(2, 4)


def test_an_indexed_jobs_completion_index_names_it_with_the_count() -> None:
    env = {"PIPELINE_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "3"}
    assert resolve_shard(None, env) == Shard(3, 4)


def test_a_completion_index_alone_shards_nothing() -> None:
    # Any Indexed Job sets it; without a count it says nothing about how sources are split.
    assert resolve_shard(None, {"JOB_COMPLETION_INDEX": "3"}) is None


def test_a_count_without_an_index_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="JOB_COMPLETION_INDEX is not set"):
        resolve_shard(None, {"PIPELINE_SHARD_COUNT": "4"})


INDEX_RANGE = (
    "the index must be from 0 to {last} (shards are numbered from 0, as JOB_COMPLETION_INDEX is)"
)
AT_LEAST_ONE = "the number of shards must be at least 1"
NOT_I_OF_N = "expected I/N, e.g. 0/4 (shard 0 of 4)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2/2", f"--shard 2/2: {INDEX_RANGE.format(last=1)}"),
        ("0/0", f"--shard 0/0: {AT_LEAST_ONE}"),
        ("1", f"--shard '1': {NOT_I_OF_N}"),
        ("a/b", f"--shard 'a/b': {NOT_I_OF_N}"),
        ("-1/2", f"--shard '-1/2': {NOT_I_OF_N}"),
    ],
)
def test_a_bad_shard_is_a_config_error_naming_it(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_shard(text)
    assert str(raised.value) == message


def test_a_shard_made_in_code_is_checked_too() -> None:
    with pytest.raises(ConfigError) as raised:
        Shard(4, 4)
    assert str(raised.value) == f"shard 4/4: {INDEX_RANGE.format(last=3)}"


def test_a_bad_shard_in_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^PIPELINE_SHARD 5/4: the index"):
        resolve_shard(None, {"PIPELINE_SHARD": "5/4"})
    with pytest.raises(ConfigError, match=r"^JOB_COMPLETION_INDEX/PIPELINE_SHARD_COUNT 4/4"):
        resolve_shard(None, {"PIPELINE_SHARD_COUNT": "4", "JOB_COMPLETION_INDEX": "4"})


@pytest.mark.parametrize("command", [["sync"], ["backfill", "--since", "2026-11-01"]])
async def test_a_bad_shard_stops_the_command_with_exit_2(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # No config file exists here: the shard is checked first, before anything is read or sent.
    assert await run_cli([*command, "--shard", "3/3", "--config", "/nonexistent.yaml"]) == 2
    assert "--shard 3/3: the index must be from 0 to 2" in capsys.readouterr().err


def test_each_workers_metrics_file_names_its_shard(tmp_path: Path) -> None:
    # Two workers on one machine write two files for one collector: their runs must differ.
    for shard in (Shard(0, 2), Shard(1, 2)):
        report = RunReport(uuid.uuid4(), "succeeded", shard=shard)
        write_metrics(tmp_path / f"{shard.index}.prom", "sync", report, 1_700_000_000)
    texts = [(tmp_path / f"{i}.prom").read_text() for i in (0, 1)]
    assert 'pipeline_sync_run_succeeded{shard="0/2"} 1.0' in texts[0]
    assert 'pipeline_sync_run_finished_timestamp_seconds{shard="1/2"} 1.7e+09' in texts[1]
