"""A task's columns are declared once (`pipeline.model`): the statements of loader.sql that list
them, the tables they write and the `Task` record must all agree with that declaration."""

from __future__ import annotations

import re
from dataclasses import fields

import asyncpg
import pytest

from pipeline.db.sqlfiles import parse_queries, query, sql_dir
from pipeline.db.staging import STAGE_COLUMNS
from pipeline.model import (
    COMPARED_COLUMNS,
    CONTENT_COLUMNS,
    READ_COLUMNS,
    TASK_COLUMNS,
    TASK_KEY,
    Task,
)

# A new row of `tasks` made from a read: seen_at stands for both first and last seen.
FROM_READ = [
    {"first_seen_at": "seen_at", "last_seen_at": "seen_at"}.get(c, c) for c in TASK_COLUMNS
]
# The statements that list the columns they write, with the table and what they select for it.
INSERTS = {
    "insert_stage_absent": ("tasks", TASK_COLUMNS, FROM_READ),
    "merge_stage_tasks": ("tasks", TASK_COLUMNS, FROM_READ),
    "defer_outside": ("deferred_reads", READ_COLUMNS, list(READ_COLUMNS)),
}
_ITEM_NAME = re.compile(r"(?:\w+\.)?(\w+)$")


def names(listed: str) -> list[str]:
    """The column each item of a comma-separated list names: its alias, else its own name
    (`$1` to `$3` stand for the task's source, as every statement here numbers them)."""
    found = []
    for item in (part.strip() for part in listed.split(",")):
        item = re.split(r"\s+AS\s+", item)[-1]
        if param := re.fullmatch(r"\$([123])", item):
            found.append(TASK_KEY[int(param[1]) - 1])
        else:
            found.append(_ITEM_NAME.search(item)[1])  # type: ignore[index]
    return found


def inserted(sql: str, table: str) -> tuple[list[str], list[str]]:
    """The columns an INSERT into `table` lists, and the names its SELECT gives them."""
    found = re.search(
        rf"INSERT INTO {table}(?: AS \w+)? \((?P<into>[^)]*)\)\s*"
        r"SELECT\s+(?:DISTINCT ON \(task_id\)\s+)?(?P<selected>.*?)\s+FROM ",
        sql,
        re.DOTALL,
    )
    assert found, f"the statement inserts no selected rows into {table}"
    return names(found["into"]), names(found["selected"])


def test_a_task_has_one_field_per_content_column() -> None:
    assert sorted(f.name for f in fields(Task)) == sorted(CONTENT_COLUMNS)


def test_every_statement_of_loader_sql_that_writes_task_columns_is_checked_here() -> None:
    loader_sql = parse_queries((sql_dir() / "queries" / "loader.sql").read_text("utf-8"))
    writing = {
        name
        for name, sql in loader_sql.items()
        if re.search(r"INSERT INTO (tasks|deferred_reads)\b", sql)
    }
    assert writing == set(INSERTS)


@pytest.mark.parametrize("name", sorted(INSERTS))
def test_a_statement_writes_the_declared_columns(name: str) -> None:
    table, columns, selected = INSERTS[name]
    assert inserted(query(name), table) == (list(columns), selected)


def test_the_merge_reads_the_declared_columns_of_a_staged_read() -> None:
    incoming = re.search(
        r"SELECT DISTINCT ON \(task_id\) (.*?)\s+FROM stage_tasks",
        query("merge_stage_tasks"),
        re.DOTALL,
    )
    assert incoming and names(incoming[1]) == list(READ_COLUMNS)


def test_the_merge_compares_what_the_content_hash_digests_in_the_same_order() -> None:
    compared = re.search(
        r"WHERE \(\((?P<old>[^)]*)\)\s*IS DISTINCT FROM\s*\((?P<new>[^)]*)\)",
        query("merge_stage_tasks"),
    )
    assert compared
    assert names(compared["old"]) == names(compared["new"]) == list(COMPARED_COLUMNS)


def test_the_merge_updates_every_compared_column_and_what_a_change_moves() -> None:
    updated = re.search(r"DO UPDATE SET(.*?)\n\s*WHERE", query("merge_stage_tasks"), re.DOTALL)
    assert updated
    pairs = dict(re.findall(r"(\w+) = ([\w.]+)", updated[1]))
    moved = (*COMPARED_COLUMNS, "last_seen_at", "content_hash")
    assert pairs == {**{c: f"excluded.{c}" for c in moved}, "vendor_deleted_at": "NULL"}


async def table_columns(conn: asyncpg.Connection, table: str, schema: str) -> list[str]:
    return [
        row["column_name"]
        for row in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            schema,
            table,
        )
    ]


async def test_the_tasks_table_has_the_declared_columns_and_the_deletion_mark(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        live = await table_columns(conn, "tasks", "pipeline")
    assert sorted(live) == sorted([*TASK_COLUMNS, "vendor_deleted_at"])


async def test_a_parked_read_has_the_declared_columns_in_order(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        live = await table_columns(conn, "deferred_reads", "pipeline")
    assert live == list(READ_COLUMNS)  # take_deferred moves them by position


async def test_a_staged_read_has_the_declared_columns_in_order(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(query("create_stage_tasks"))
        temp = await conn.fetchval(
            "SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()"
        )
        live = await table_columns(conn, "stage_tasks", temp)
    assert live == list(STAGE_COLUMNS)
