"""`python -m pipeline.sandbox [VENDOR]`: serve a vendor's twin with synthetic tasks."""

from __future__ import annotations

import argparse
import asyncio
import time

from pipeline.sandbox.faults import FaultPlan
from pipeline.sandbox.server import SandboxServer
from pipeline.vendors import VENDORS

SANDBOXED = [name for name, vendor in VENDORS.items() if vendor.sandbox is not None]


async def serve(args: argparse.Namespace) -> None:
    vendor = VENDORS[args.vendor]
    kit = vendor.sandbox
    assert kit is not None
    faults = FaultPlan.random(args.fault_rate, seed=args.seed) if args.fault_rate else None
    twin = kit.twin(credentials=kit.credentials, faults=faults)
    count = kit.fill(twin, int(time.time()), args.per_day, args.days, args.seed)
    server = SandboxServer(twin.make_app(), port=args.port)
    async with server:
        print(f"{vendor.title} sandbox at {server.url} with {count} tasks")
        for key, secret in kit.credentials.items():
            print(f"  id: {key}\n  secret: {secret}  (fake, sandbox only)")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sandbox", description=__doc__)
    parser.add_argument("vendor", nargs="?", choices=SANDBOXED, default=SANDBOXED[0])
    parser.add_argument("--port", type=int, default=8780)
    parser.add_argument("--per-day", type=int, default=40, help="tasks per day")
    parser.add_argument("--days", type=int, default=90, help="days of tasks back from now")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests faulted")
    parser.add_argument("--seed", type=int, default=1)
    try:
        asyncio.run(serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


main()
