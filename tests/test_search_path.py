"""A locked search path: functions and operators another role plants in a schema it may write
are never called by the pipeline, whatever the database's default path says."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import asyncpg
import pytest

from pipeline.db.connect import create_pool
from pipeline.db.schema import SEARCH_PATH
from pipeline.db.sqlfiles import query
from pipeline.planning.sources import SyncRequest
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, fast_settings, tencent_account
from tests.database import _admin, as_role
from tests.runs import backfill_all, run

APIS = ("DescribeRecordTask", "DescribeLivePullStreamTasks")

# Each records its call in public.trap_calls and then does what the real one does. All but the
# last two beat pg_catalog's own whatever the path's order (an exact signature wins over a
# variadic or polymorphic one); those two win only where `public` comes before pg_catalog.
TRAPS = """
CREATE TABLE public.trap_calls (name text NOT NULL);
GRANT INSERT, SELECT, DELETE ON public.trap_calls TO PUBLIC;
CREATE FUNCTION public.trap(name text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.trap_calls (name) VALUES (name) $$;

CREATE FUNCTION public.jsonb_build_array(a jsonb, b jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('jsonb_build_array'); RETURN pg_catalog.jsonb_build_array(a, b); END
$$;
CREATE FUNCTION public.object_agg_step(s jsonb, k text, v jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.trap('jsonb_object_agg');
    RETURN pg_catalog.jsonb_concat(coalesce(s, '{}'), pg_catalog.jsonb_build_object(k, v));
END
$$;
CREATE AGGREGATE public.jsonb_object_agg(text, jsonb)
    (SFUNC = public.object_agg_step, STYPE = jsonb);
CREATE FUNCTION public.array_agg_step(s text[], v text) RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('array_agg'); RETURN pg_catalog.array_append(s, v); END
$$;
CREATE AGGREGATE public.array_agg(text) (SFUNC = public.array_agg_step, STYPE = text[]);
CREATE FUNCTION public.range_agg_step(s tstzmultirange, r tstzrange) RETURNS tstzmultirange
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.trap('range_agg');
    RETURN coalesce(s, '{}') OPERATOR(pg_catalog.+) pg_catalog.tstzmultirange(r);
END
$$;
CREATE AGGREGATE public.range_agg(tstzrange)
    (SFUNC = public.range_agg_step, STYPE = tstzmultirange);
CREATE FUNCTION public.lower(r tstzrange) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('lower'); RETURN pg_catalog.lower(r); END
$$;
CREATE FUNCTION public.unnest(m tstzmultirange) RETURNS SETOF tstzrange LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('unnest'); RETURN QUERY SELECT * FROM pg_catalog.unnest(m); END
$$;
CREATE FUNCTION public.hashtextextended(t text, seed integer) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('hashtextextended'); RETURN pg_catalog.hashtextextended(t, seed); END
$$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('now'); RETURN pg_catalog.now(); END
$$;
CREATE FUNCTION public.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM public.trap('='); RETURN a OPERATOR(pg_catalog.=) b; END
$$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq);
"""


@pytest.fixture
def intruder(pg_server: str, db_url: str) -> Iterator[str]:
    """A role that may create objects in `public`, and has planted the traps there; the
    database's default path then puts `public` first. Its URL."""
    role = f"pl_{uuid.uuid4().hex[:10]}_intruder"
    database = db_url.rsplit("/", 1)[1]
    asyncio.run(
        _admin(
            db_url,
            f'CREATE ROLE "{role}" LOGIN',
            f'GRANT CREATE ON SCHEMA public TO "{role}"',
            f'GRANT USAGE ON SCHEMA pipeline TO "{role}"',
        )
    )
    url = as_role(db_url, role)
    asyncio.run(_admin(url, TRAPS))
    asyncio.run(
        _admin(
            db_url, f'ALTER DATABASE "{database}" SET search_path = public, pg_catalog, pipeline'
        )
    )
    try:
        yield url
    finally:
        asyncio.run(_admin(db_url, f'DROP OWNED BY "{role}"', f'DROP ROLE "{role}"'))


async def trap_calls(conn: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    rows = await conn.fetch("SELECT name FROM public.trap_calls ORDER BY 1")
    return sorted({r["name"] for r in rows})


@pytest.fixture
def tencent_twin(frozen_now: int) -> TencentSandbox:
    """Record and relay tasks on one account, so a sync writes history and marks a deletion."""
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        clock=lambda: frozen_now,
        rate_limits=dict.fromkeys(APIS, FAST_RATE),
    )
    sandbox.add_record_tasks(generate_record_tasks(frozen_now, days_back=10, per_day=20, seed=3))
    sandbox.add_pull_tasks(generate_pull_tasks(frozen_now, count=30, seed=3))
    return sandbox


@pytest.fixture
async def twin_url(tencent_twin: TencentSandbox) -> AsyncIterator[str]:
    async with tencent_twin.serve() as server:
        yield server.url


async def test_the_traps_catch_a_connection_that_keeps_the_databases_path(
    intruder: str, db_url: str
) -> None:
    conn = await asyncpg.connect(db_url)  # no search_path of its own
    try:
        await conn.fetchval(query("try_source_lock"), "probe")
        await conn.fetch(
            query("settled_periods"), "tencent", "acct", "DescribeRecordTask", timedelta(hours=1)
        )
        await conn.fetchval("SELECT jsonb_build_array('1'::jsonb, '2'::jsonb), now()")
        caught = await trap_calls(conn)
        await conn.execute("DELETE FROM public.trap_calls")
        # The pipeline's function pinned its own path: called from here, it calls no trap.
        changes = await conn.fetchval(
            """SELECT pipeline.task_changes('{"status": "a"}', '{"status": "b"}')::text"""
        )
        assert await trap_calls(conn) == []
    finally:
        await conn.close()
    assert {"hashtextextended", "jsonb_build_array", "now", "unnest"} <= set(caught)
    assert changes == '{"status": ["a", "b"]}'


async def test_a_sync_calls_none_of_the_traps(
    intruder: str,
    pool: asyncpg.Pool,
    tencent_twin: TencentSandbox,
    twin_url: str,
    frozen_now: int,
) -> None:
    settings = fast_settings(tencent_account(twin_url, apis=APIS))
    assert (await run(pool, settings, backfill_all(frozen_now), frozen_now)).exit_code == 0
    records = tencent_twin.record_tasks.values()
    unfinished = (t for t in records if t["EndTime"] > frozen_now and not t["Stopped"])
    tencent_twin.stop_record_task(next(unfinished)["TaskId"], frozen_now)
    tencent_twin.delete_pull_task(sorted(tencent_twin.pull_tasks)[0])
    report = await run(pool, settings, SyncRequest(), frozen_now)
    assert report.exit_code == 0, report
    history = await pool.fetch("SELECT changes::text AS changes FROM task_history")
    assert any("vendor_deleted_at" in r["changes"] for r in history)  # mark_unlisted ran
    assert any('"raw.Stopped"' in r["changes"] for r in history)  # task_changes ran
    assert await trap_calls(pool) == []


async def test_every_connection_searches_the_pipelines_path_whatever_the_dsn_says(
    db_url: str,
) -> None:
    dsn = f"{db_url}?search_path=public&options=-csearch_path%3Dpublic"
    pool = await create_pool(dsn, 2)
    try:
        assert await pool.fetchval("SHOW search_path") == SEARCH_PATH
    finally:
        await pool.close()


async def test_every_function_of_the_pipeline_pins_its_search_path(pool: asyncpg.Pool) -> None:
    unpinned = await pool.fetch(
        """SELECT p.oid::regprocedure::text AS name FROM pg_proc AS p
           WHERE p.pronamespace = 'pipeline'::regnamespace
             AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pipeline']"""
    )
    assert [r["name"] for r in unpinned] == []
    assert await pool.fetchval(
        "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pipeline'::regnamespace"
    )
