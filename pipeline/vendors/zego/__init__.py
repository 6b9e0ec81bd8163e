"""ZEGO cloud recording: md5-signed server API calls and its 3-day task list."""

from pipeline.vendors.base import Vendor
from pipeline.vendors.zego.account import ZegoAccount
from pipeline.vendors.zego.client import ZegoClient
from pipeline.vendors.zego.tasks import DescribeTasks

VENDOR = Vendor(
    name="zego",
    title="ZEGO",
    account_model=ZegoAccount,
    make_client=ZegoClient,
    sources={source.api: source for source in (DescribeTasks(),)},
    sandbox_module="pipeline.vendors.zego.sandbox_kit",
)
