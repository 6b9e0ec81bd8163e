"""Volcengine Live: V4-signed OpenAPI calls and its pull-record task list."""

from pipeline.vendors.base import Vendor
from pipeline.vendors.volcengine.account import VolcengineAccount
from pipeline.vendors.volcengine.client import VolcengineClient
from pipeline.vendors.volcengine.pull_record_tasks import GET_API, PullRecordTasks

VENDOR = Vendor(
    name="volcengine",
    title="Volcengine",
    account_model=VolcengineAccount,
    make_client=VolcengineClient,
    sources={source.api: source for source in (PullRecordTasks(),)},
    helper_apis={GET_API: 10.0},
    sandbox_module="pipeline.vendors.volcengine.sandbox_kit",
)
