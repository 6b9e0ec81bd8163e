"""An Airflow DAG for `pipeline sync`: one task per shard, all in parallel, every hour.

Each task runs `pipeline sync --shard I/N` with the same config; a retried task redoes its own
shard only. The Postgres the pipeline writes is the ledger: `pipeline status` shows the round
whole, whichever task synced each source. Airflow 2.x and 3.x. Copy this file into the DAGs
folder of workers that have `pipeline` installed (or swap BashOperator for a
KubernetesPodOperator running the image), with PIPELINE_CONFIG, PIPELINE_DATABASE_URL,
PIPELINE_REDACTION_KEY and the vendors' secrets in their environment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator

SHARDS = 4
"""How many tasks share the sources; change it freely (the locks guard the round it changes)."""
SCHEDULE = "17 * * * *"


def sync_command(index: int, count: int = SHARDS) -> str:
    """The command of the task of shard `index`."""
    return f"pipeline sync --quiet --shard {index}/{count}"


with DAG(
    dag_id="pipeline_sync",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1),
    catchup=False,  # a sync catches up by itself: it reads what changed since the last one
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["pipeline"],
) as dag:
    for shard in range(SHARDS):
        BashOperator(
            task_id=f"sync_shard_{shard}_of_{SHARDS}",
            bash_command=sync_command(shard),
            execution_timeout=timedelta(minutes=55),
        )
