"""A toy vendor living outside `pipeline/`: one token-authenticated list API, its twin, its data.

Registered for a test's duration by `tests.toyvendor.registered` (one line in a fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.vendors import VENDORS
from pipeline.vendors.base import Vendor
from tests.toyvendor.client import ToyClient
from tests.toyvendor.kit import ToyAccount
from tests.toyvendor.source import ToyTasks

VENDOR = Vendor(
    name="toy",
    title="Toy",
    account_model=ToyAccount,
    make_client=ToyClient,
    sources={source.api: source for source in (ToyTasks(),)},
    sandbox_module="tests.toyvendor.kit",
)


@contextmanager
def registered(vendor: Vendor = VENDOR) -> Iterator[Vendor]:
    """`vendor` in the registry while the block runs: the registry is a plain mapping."""
    VENDORS[vendor.name] = vendor
    try:
        yield vendor
    finally:
        del VENDORS[vendor.name]
