"""The registry of vendors: adding one means adding its folder and a line here."""

from __future__ import annotations

from pipeline.vendors.base import Vendor
from pipeline.vendors.tencent import VENDOR as TENCENT
from pipeline.vendors.volcengine import VENDOR as VOLCENGINE
from pipeline.vendors.zego import VENDOR as ZEGO

VENDORS: dict[str, Vendor] = {vendor.name: vendor for vendor in (TENCENT, VOLCENGINE, ZEGO)}
