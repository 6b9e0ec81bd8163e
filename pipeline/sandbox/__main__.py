"""`python -m pipeline.sandbox`: serve the Tencent twin with synthetic tasks until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import time

from pipeline.sandbox.faults import FaultPlan
from pipeline.sandbox.server import SandboxServer
from pipeline.vendors.tencent.fakedata import generate_record_tasks
from pipeline.vendors.tencent.fakedata_pull import generate_pull_tasks
from pipeline.vendors.tencent.sandbox import TencentSandbox

SECRET_ID = "AKIDsandbox000000000000000000000000000"  # noqa: S105 - fake
SECRET_KEY = "sandbox-secret-key"  # noqa: S105 - the twin's own fake credential


async def serve(args: argparse.Namespace) -> None:
    sandbox = TencentSandbox(
        credentials={SECRET_ID: SECRET_KEY},
        faults=FaultPlan.random(args.fault_rate, seed=args.seed) if args.fault_rate else None,
    )
    sandbox.add_record_tasks(generate_record_tasks(int(time.time()), per_day=args.per_day))
    sandbox.add_pull_tasks(generate_pull_tasks(int(time.time()), count=args.relay_tasks))
    server = SandboxServer(sandbox.make_app(), port=args.port)
    async with server:
        print(
            f"Tencent sandbox at {server.url} with {len(sandbox.record_tasks)} record tasks "
            f"and {len(sandbox.pull_tasks)} relay tasks"
        )
        print(f"  secret_id: {SECRET_ID}\n  secret_key: {SECRET_KEY}  (fake, sandbox only)")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8780)
    parser.add_argument("--per-day", type=int, default=40, help="record tasks per day")
    parser.add_argument("--relay-tasks", type=int, default=60, help="relay (pull-stream) tasks")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests faulted")
    parser.add_argument("--seed", type=int, default=1)
    try:
        asyncio.run(serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


main()
