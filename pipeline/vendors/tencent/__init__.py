"""Tencent Cloud Live: TC3-signed API 3.0 calls and its task list APIs."""

from pipeline.vendors.base import Vendor
from pipeline.vendors.tencent.account import TencentAccount
from pipeline.vendors.tencent.client import TencentClient
from pipeline.vendors.tencent.pull_tasks import PullStreamTasks
from pipeline.vendors.tencent.record_tasks import RecordTasks

VENDOR = Vendor(
    name="tencent",
    title="Tencent",
    account_model=TencentAccount,
    make_client=TencentClient,
    sources={source.api: source for source in (RecordTasks(), PullStreamTasks())},
    sandbox_module="pipeline.vendors.tencent.sandbox_kit",
)
