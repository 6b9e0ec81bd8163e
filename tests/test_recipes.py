"""The recipes in deploy/ for running N workers on schedulers people already have: each parses,
and its N workers are N distinct shards of N that between them own every source."""

from __future__ import annotations

import runpy
import shlex
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.cli import build_parser
from pipeline.shards import Shard, parse_shard, resolve_shard
from pipeline.vendors import VENDORS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SOURCES = [
    (vendor.name, f"{vendor.name}-{n}", api)
    for vendor in VENDORS.values()
    for n in range(25)
    for api in vendor.sources
]


def assert_shards_cover_every_source_once(shards: Iterable[Shard]) -> None:
    shards = list(shards)
    counts = {shard.count for shard in shards}
    assert len(counts) == 1, f"the workers disagree on N: {counts}"
    assert sorted(shard.index for shard in shards) == list(range(counts.pop()))
    for source in SOURCES:
        assert sum(shard.owns(*source) for shard in shards) == 1


def assert_a_pipeline_command(argv: list[str]) -> None:
    """`argv` (after `pipeline`) is a command line the pipeline accepts."""
    build_parser().parse_args(argv)


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.fixture
def cronjob() -> dict[str, Any]:
    [document] = yaml.safe_load_all((DEPLOY / "kubernetes" / "pipeline-sync.yaml").read_text())
    assert document["kind"] == "CronJob"
    return dict(document)


def test_the_cronjobs_indexed_job_runs_n_workers_at_once(cronjob: dict[str, Any]) -> None:
    job = cronjob["spec"]["jobTemplate"]["spec"]
    [container] = job["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container.get("env", [])}
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == int(env["PIPELINE_SHARD_COUNT"])
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_each_pod_of_the_cronjob_syncs_its_own_shard(cronjob: dict[str, Any]) -> None:
    job = cronjob["spec"]["jobTemplate"]["spec"]
    [container] = job["template"]["spec"]["containers"]
    assert_a_pipeline_command(container["args"])
    assert container["args"][0] == "sync"
    env = {item["name"]: item["value"] for item in container.get("env", [])}
    # Kubernetes gives pod i of an Indexed Job JOB_COMPLETION_INDEX=i.
    shards = [
        resolve_shard(None, env | {"JOB_COMPLETION_INDEX": str(i)})
        for i in range(job["completions"])
    ]
    assert_shards_cover_every_source_once(s for s in shards if s is not None)


def test_a_config_error_in_the_cronjob_fails_its_index_without_retries(
    cronjob: dict[str, Any],
) -> None:
    job = cronjob["spec"]["jobTemplate"]["spec"]
    [rule] = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailIndex"
    assert rule["onExitCodes"]["values"] == [2]  # the pipeline's exit status for bad config


# --- Airflow ---------------------------------------------------------------------------------


class FakeAirflow:
    """Just enough of Airflow's DAG and BashOperator to load a DAG file and see its tasks."""

    def __init__(self) -> None:
        self.dags: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []
        recorder = self

        class DAG:
            def __init__(self, **kwargs: Any) -> None:
                self.spec = {**kwargs, "tasks": []}
                recorder.dags.append(self.spec)

            def __enter__(self) -> DAG:
                recorder._open.append(self.spec)
                return self

            def __exit__(self, *exc: object) -> None:
                recorder._open.pop()

        class BashOperator:
            def __init__(self, *, task_id: str, bash_command: str, **kwargs: Any) -> None:
                recorder._open[-1]["tasks"].append({"task_id": task_id, "command": bash_command})

        self.DAG, self.BashOperator = DAG, BashOperator

    def modules(self, version: int) -> dict[str, types.ModuleType | None]:
        """sys.modules entries that make Airflow `version` (2 or 3) importable."""

        def module(name: str, **names: Any) -> types.ModuleType:
            made = types.ModuleType(name)
            made.__dict__.update(names)
            return made

        if version == 3:
            return {
                "airflow": module("airflow"),
                "airflow.sdk": module("airflow.sdk", DAG=self.DAG),
                "airflow.providers": module("airflow.providers"),
                "airflow.providers.standard": module("airflow.providers.standard"),
                "airflow.providers.standard.operators": module(
                    "airflow.providers.standard.operators"
                ),
                "airflow.providers.standard.operators.bash": module(
                    "airflow.providers.standard.operators.bash", BashOperator=self.BashOperator
                ),
            }
        return {
            "airflow": module("airflow", DAG=self.DAG),
            "airflow.sdk": None,  # None in sys.modules: ImportError, as on Airflow 2
            "airflow.providers.standard.operators.bash": None,
            "airflow.operators": module("airflow.operators"),
            "airflow.operators.bash": module(
                "airflow.operators.bash", BashOperator=self.BashOperator
            ),
        }


LoadDag = Callable[[int], dict[str, Any]]


@pytest.fixture
def load_dag(monkeypatch: pytest.MonkeyPatch) -> LoadDag:
    def load(version: int) -> dict[str, Any]:
        airflow = FakeAirflow()
        for name, module in airflow.modules(version).items():
            monkeypatch.setitem(sys.modules, name, module)
        runpy.run_path(str(DEPLOY / "airflow" / "pipeline_sync.py"))
        [dag] = airflow.dags
        return dag

    return load


@pytest.mark.parametrize("version", [2, 3])
def test_the_airflow_dag_has_one_task_per_shard(version: int, load_dag: LoadDag) -> None:
    dag = load_dag(version)
    assert dag["dag_id"] == "pipeline_sync" and dag["catchup"] is False
    shards = []
    for task in dag["tasks"]:
        argv = shlex.split(task["command"])
        assert argv[0] == "pipeline"
        assert_a_pipeline_command(argv[1:])
        shards.append(parse_shard(argv[argv.index("--shard") + 1]))
    assert len(shards) > 1
    assert_shards_cover_every_source_once(shards)


# --- cron on two machines --------------------------------------------------------------------


def cron_lines() -> list[list[str]]:
    lines = (DEPLOY / "cron" / "crontab").read_text().splitlines()
    return [line.split(None, 5) for line in lines if line.strip() and not line.startswith("#")]


def test_every_cron_line_is_a_schedule_and_a_pipeline_command() -> None:
    for *schedule, command in cron_lines():
        assert len(schedule) == 5 and all(field for field in schedule)
        argv = shlex.split(command.split("&&", 1)[1].split(">>", 1)[0].split(">", 1)[0])
        assert argv[0] == "pipeline"
        assert_a_pipeline_command(argv[1:])


def test_the_two_machines_cron_lines_are_the_two_shards() -> None:
    shards = [
        parse_shard(shlex.split(command)[shlex.split(command).index("--shard") + 1])
        for *_, command in cron_lines()
        if "--shard" in command
    ]
    assert len(shards) == 2
    assert_shards_cover_every_source_once(shards)
