"""The toy API over HTTP: a bearer token (its signer) and the `{"ok": …}` envelope."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipeline import errors
from pipeline.payloads import json_object
from pipeline.source import HttpRequest, HttpResponse, Record


class ToyClient:
    """Builds token-authenticated requests and reads the toy envelope."""

    def __init__(self, account: Any) -> None:
        self._account = account

    def build(self, api: str, params: Mapping[str, Any], now: float) -> HttpRequest:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self._account.token.get_secret_value()}",
            "X-Action": api,
        }
        return HttpRequest("POST", self._account.endpoint, headers, json.dumps(params).encode())

    def parse(self, api: str, response: HttpResponse) -> Record:
        payload = json_object(response.body)
        if payload is None:
            if response.status >= 500:
                raise errors.VendorUnavailable(f"HTTP{response.status}", f"{api} failed")
            raise errors.TransportError(f"{api} answered HTTP {response.status} without JSON")
        if payload.get("error") == "slow_down":
            raise errors.RateLimited("slow_down", str(payload.get("message", "")))
        if payload.get("error") == "oops":
            raise errors.VendorUnavailable("oops", str(payload.get("message", "")))
        if payload.get("error"):
            raise errors.RequestRejected(str(payload["error"]), str(payload.get("message", "")))
        if not isinstance(payload.get("ok"), dict):
            raise errors.TransportError(f"{api} answered without an ok object")
        return payload["ok"]
