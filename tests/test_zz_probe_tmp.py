import asyncpg
from pipeline.plans import SyncRequest
from tests.runs import run
from tests.test_volcengine_sync import settings_for, API
from tests.test_malformed_records import with_records, MALFORMED, START, END
from pipeline.vendors.volcengine.fakedata import generate_pull_record_tasks


def rec(i, **kw):
    return {
        "TaskId": f"odd-{i}",
        "StartTime": START,
        "EndTime": END,
        "Status": "已结束",
        "Vhost": "v",
        "Domain": "d",
        "App": "a",
        "Stream": "s",
        **kw,
    }


async def go(pool, sandbox, now):
    async with sandbox.serve() as server:
        report = await run(pool, settings_for(server.url), SyncRequest(), now)
    s = report.sources[0]
    n = await pool.fetchval("SELECT count(*) FROM rejected_records")
    t = await pool.fetchval("SELECT count(*) FROM tasks")
    print(
        "\nRESULT",
        s.outcome,
        s.error_code,
        s.error_message,
        s.counts,
        s.notes,
        "rejected rows",
        n,
        "tasks",
        t,
    )


async def test_two_without_id(pool: asyncpg.Pool, frozen_now: int):
    a = {k: v for k, v in rec(1).items() if k != "TaskId"}
    b = {**a, "Stream": "other"}
    await go(pool, with_records(frozen_now, a, b), frozen_now)


async def test_list_id(pool, frozen_now):
    await go(pool, with_records(frozen_now, rec(1, TaskId=["x"])), frozen_now)


async def test_nul(pool, frozen_now):
    await go(pool, with_records(frozen_now, rec(1, Note="a\u0000b")), frozen_now)


async def test_nul_rejected(pool, frozen_now):
    await go(pool, with_records(frozen_now, rec(1, Status=3, Note="a\u0000b")), frozen_now)


async def test_nan(pool, frozen_now):
    await go(pool, with_records(frozen_now, rec(1, Note=float("nan"))), frozen_now)


async def test_shift(pool, frozen_now):
    sandbox = with_records(frozen_now, rec(1, Status=3), good=1100)
    extra = generate_pull_record_tasks(frozen_now, count=1, seed=77)
    sandbox.on_request(API, 2, lambda sb: sb.add_tasks(extra))
    await go(pool, sandbox, frozen_now)


from pipeline.vendors.tencent.sandbox import TencentSandbox
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from tests.conftest import FAST_RATE, SECRET_ID, SECRET_KEY, fast_settings, tencent_account


async def test_tencent_pull_page1(pool, frozen_now):
    api = "DescribeLivePullStreamTasks"
    sb = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY}, clock=lambda: frozen_now, rate_limits={api: FAST_RATE}
    )
    tasks = generate_pull_tasks(frozen_now, count=5, seed=5)
    tasks[0]["StartTime"] = "yesterday"
    sb.add_pull_tasks(tasks)
    async with sb.serve() as server:
        report = await run(
            pool, fast_settings(tencent_account(server.url, apis=(api,))), SyncRequest(), frozen_now
        )
    s = report.sources[0]
    print(
        "\nRESULT",
        s.outcome,
        s.counts,
        await pool.fetchval("SELECT count(*) FROM rejected_records"),
        len(sb.requests),
    )


async def test_list_id2(pool, frozen_now):
    sandbox = with_records(frozen_now)
    sandbox.tasks["odd"] = rec(1, TaskId=["x"])
    await go(pool, sandbox, frozen_now)


async def test_two_without_id_coverage(pool: asyncpg.Pool, frozen_now: int):
    a = {k: v for k, v in rec(1).items() if k != "TaskId"}
    b = {**a, "Stream": "other"}
    await go(pool, with_records(frozen_now, a, b), frozen_now)
    print("COVERAGE", await pool.fetch("SELECT * FROM coverage"))
