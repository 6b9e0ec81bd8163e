"""Several accounts of every registered vendor, each vendor's on its twin, filled and served."""

from __future__ import annotations

from contextlib import AsyncExitStack

from pipeline.vendors import VENDORS
from pipeline.vendors.base import AccountBase
from tests.conftest import FAST_RATE


async def serve_accounts(
    stack: AsyncExitStack, now: int, per_vendor: int, per_day: int, days_back: int = 5
) -> list[AccountBase]:
    """`per_vendor` accounts of every vendor (`<vendor>-<n>`) on its twin, which holds
    `per_day` tasks a day over `days_back` days and answers until `stack` closes; every limit
    fast, so only what is under test paces the run."""
    accounts: list[AccountBase] = []
    for seed, (name, vendor) in enumerate(VENDORS.items(), start=1):
        kit = vendor.sandbox
        assert kit is not None, f"{name} has no sandbox"
        fast = dict.fromkeys(vendor.rated_apis, FAST_RATE)
        twin = kit.twin(credentials=kit.credentials, clock=lambda: now, rate_limits=fast)
        kit.fill(twin, now, per_day, days_back, seed)
        server = await stack.enter_async_context(twin.serve())
        accounts += [
            kit.account(server.url, f"{name}-{n}", rate_limits=fast) for n in range(per_vendor)
        ]
    return accounts
