"""The scale benchmark's result as lines of plain-text tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

MIB = 1024 * 1024
PROBLEMS_SHOWN = 6
WORKER_HEAD = (
    f"  {'workers':<9}{'shard':>6}{'sources':>8}{'records':>10}{'wall s':>8}{'CPU s':>7}"
    f"{'records/s':>10}{'peak MiB':>9}"
)


def _maybe(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _requests(r: dict[str, Any]) -> int:
    return sum(sum(per_api.values()) for per_api in r["requests"].values())


def _checks(r: dict[str, Any]) -> str:
    n = len(r["problems"])
    return "ok" if not n else f"{n} problem{'s' if n > 1 else ''} (below)"


def _problem_lines(rounds: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in rounds:
        shown = r["problems"][:PROBLEMS_SHOWN]
        lines += [f"    {len(r['workers'])} workers: {problem}" for problem in shown]
        if len(r["problems"]) > PROBLEMS_SHOWN:
            lines.append(
                f"    {len(r['workers'])} workers: and {len(r['problems']) - PROBLEMS_SHOWN} more"
            )
    return ["  problems:", *lines] if lines else []


def _worker_lines(rounds: list[dict[str, Any]]) -> list[str]:
    lines = [WORKER_HEAD]
    for r in rounds:
        for index, w in enumerate(r["workers"]):
            p = w["process"]
            lines.append(
                f"  {len(r['workers']) if index == 0 else '':<9}{w['shard']:>6}"
                f"{len(w['sources']):>8}{w['records']:>10,}{p['wall_seconds']:>8.2f}"
                f"{p['cpu_seconds']:>7.2f}{w['records_per_second']:>10,.0f}"
                f"{p['peak_rss_bytes'] / MIB:>9.1f}"
            )
    return lines


def _cores(r: dict[str, Any]) -> float | None:
    """Cores kept busy over the round: the workers', the twins' and the server's CPU."""
    server = r["server"]["cpu_seconds"]
    if server is None:
        return None
    return (r["cpu_seconds"] + r["twin_cpu_seconds"] + server) / r["wall_seconds"]


def documented_lines(scale: dict[str, Any]) -> list[str]:
    rounds = scale["documented"]
    lines = [
        "  At the documented limits: no round ends before its slowest account's own minimum "
        "(that account's requests, as its twin counted them, over its documented rates)",
        f"  {'workers':<9}{'wall s':>8}{'minimum s':>10}{'wall/min':>9}{'records':>10}"
        f"{'requests':>9}{'limited':>8}{'CPU s':>7}{'twin CPU':>9}{'pg CPU':>7}{'cores':>6}"
        f"{'pg conns':>9}  checks",
    ]
    for r in rounds:
        lines.append(
            f"  {len(r['workers']):<9}{r['wall_seconds']:>8.2f}"
            f"{r['slowest_minimum_seconds']:>10.2f}"
            f"{r['wall_over_minimum'] or 0:>9.2f}{r['records']:>10,}{_requests(r):>9,}"
            f"{r['rate_limited']:>8}{r['cpu_seconds']:>7.2f}{r['twin_cpu_seconds']:>9.2f}"
            f"{_maybe(r['server']['cpu_seconds']):>7}{_maybe(_cores(r)):>6}"
            f"{r['server']['connections']['server']:>9}  {_checks(r)}"
        )
    return [
        *lines,
        f"  slowest account: {rounds[0]['slowest_source']}; limited: answers 'rate limited' "
        "(retried); cores: CPU of workers, twins and server over the wall; pg conns: the "
        "server's client connections at their peak; checks ok: every source run once, by the "
        "worker its shard names, succeeded, every task of its twin stored",
        *_worker_lines(rounds),
        *_problem_lines(rounds),
    ]


def sync_lines(scale: dict[str, Any]) -> list[str]:
    s = scale["sync"]
    minimums = list(s["minimum_seconds"].values())
    mean = sum(minimums) / len(minimums)
    checks = "; ".join(s["problems"]) or "every source once, succeeded"
    return [
        "  No-change sync after the 1-worker backfill, 1 worker (what runs every hour): "
        f"wall {s['wall_seconds']:.2f} s, CPU {s['cpu_seconds']:.2f} s, {s['records']:,} records "
        f"re-read, {_requests(s):,} requests; each account's own minimum "
        f"{min(minimums):.2f}-{max(minimums):.2f} s (mean {mean:.2f} s); {checks}",
    ]


def raised_lines(scale: dict[str, Any]) -> list[str]:
    rounds, floor = scale["raised"], scale["floor"]["cpu_seconds"]
    lines = [
        f"  Limits raised to {scale['config']['raised_rate']:,.0f}/s at every twin and in the "
        "config: the CPU is the bound (workers, twins and PostgreSQL share the machine's cores)",
        f"  {'workers':<9}{'wall s':>8}{'records/s':>10}{'CPU s':>7}{'CPU s/1k rec':>13}"
        f"{'less floors':>12}{'twin CPU':>9}{'pg CPU':>7}{'cores':>6}{'pg conns':>9}  checks",
    ]
    for r in rounds:
        marginal = 1000 * (r["cpu_seconds"] - len(r["workers"]) * floor) / max(r["records"], 1)
        lines.append(
            f"  {len(r['workers']):<9}{r['wall_seconds']:>8.2f}{r['records_per_second']:>10,.0f}"
            f"{r['cpu_seconds']:>7.2f}{r['cpu_seconds_per_1000_records']:>13.3f}{marginal:>12.3f}"
            f"{r['twin_cpu_seconds']:>9.2f}{_maybe(r['server']['cpu_seconds']):>7}"
            f"{_maybe(_cores(r)):>6}{r['server']['connections']['server']:>9}  {_checks(r)}"
        )
    return [
        *lines,
        "  CPU s/1k rec: the workers' CPU summed; less floors: each worker's floor (a worker "
        "with no source) taken out",
        *_worker_lines(rounds),
        *_problem_lines(rounds),
    ]


def projection_lines(scale: dict[str, Any]) -> list[str]:
    p = scale["projection"]
    seconds = p["schedule_seconds"]
    lines = [
        f"  Projection: a sync every {seconds / 60:g} min; a worker (one process, one core at "
        f"most) may spend {p['cpu_budget']:.0%} of it on CPU: B = {p['cpu_budget'] * seconds:,.0f}"
        f" CPU s; its floor F = {p['floor_cpu_seconds']:.2f} s",
        "    A worker runs its sources at once, each at its own account's limits: the slowest "
        f"account's no-change sync takes {p['sync_minimum_max']:.2f} s (one after another, "
        f"{seconds:,.0f} / {p['sync_minimum_mean']:.2f} s = "
        f"{p['accounts_one_after_another']:,} accounts would fit); the rates do not bound it",
        "    by CPU:  accounts per worker = floor((B - F) / a) = "
        f"floor({p['budget_seconds']:,.0f} / {p['sync_cpu_per_account']:.4f}) = "
        f"{p['accounts_per_worker_cpu']:,}  (a: CPU s per account of the no-change sync, its "
        "floor out)",
        f"    by pool: about P - 2 sources read at once: floor(({p['pool_size']} - 2) x "
        f"{seconds:,.0f} / {p['sync_minimum_mean']:.2f}) = "
        f"{p['accounts_per_worker_connections']:,} accounts (P: database.pool_size)",
        f"    one worker serves {p['accounts_per_worker']:,} accounts of one API each",
        f"    workers for A = ceil(A x r x c / 1000 / (B - F)); c = {p['cpu_per_1000_records']:.3f}"
        f" CPU s per 1,000 records (1 worker, limits raised, floor out); r = "
        f"{p['sync_records_per_account']:,.0f} records per account per no-change sync, "
        f"{p['backfill_records_per_account']:,.0f} for a full re-read",
        f"  {'accounts':>10}{'sync CPU s':>11}{'by CPU':>8}{'by r x c':>9}{'full re-read':>13}"
        f"{'by pool':>8}{'workers':>8}  pool each, connections (the server allows "
        f"{scale['max_connections']}, {p['connection_reserve']} kept for others)",
    ]
    for row in p["rows"]:
        fits = "too few connections for that many workers" if row["pool_too_small"] else "fits"
        lines.append(
            f"  {row['accounts']:>10,}{row['sync_cpu_seconds']:>11.1f}"
            f"{row['workers_measured_sync']:>8}{row['workers_sync_records']:>9}"
            f"{row['workers_full_reread']:>13}{row['workers_connections']:>8}{row['workers']:>8}"
            f"  {row['pool_each']} x {row['workers']} = {row['connections']:,}: {fits}"
        )
    lines.append(
        "  pool each: the database.pool_size that lets the workers share this server; fewer "
        "connections than windows make windows wait their turn, never hang"
    )
    return lines


def scale_lines(scale: dict[str, Any]) -> list[str]:
    """The whole scale section."""
    c = scale["config"]
    per_api = Counter(source.rsplit("/", 1)[1] for source in scale["tasks"])
    apis = ", ".join(f"{api} {n}" for api, n in per_api.items())
    floor = scale["floor"]
    return [
        f"Scale: {scale['accounts']} accounts ({apis}), each on a twin of its own; one config; "
        f"{', '.join(map(str, c['workers']))} workers started at once, `pipeline backfill "
        "--shard I/N` each; a fresh database per round",
        f"  {sum(scale['tasks'].values()):,} tasks in all; floor (a worker whose shard holds no "
        f"source): wall {floor['wall_seconds']:.2f} s, CPU {floor['cpu_seconds']:.2f} s, "
        f"peak {floor['peak_rss_bytes'] / MIB:.1f} MiB",
        *documented_lines(scale),
        *sync_lines(scale),
        *raised_lines(scale),
        *projection_lines(scale),
    ]
