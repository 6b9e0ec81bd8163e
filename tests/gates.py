"""A twin served behind a gate that sees each request arrive first, so a test can act at an exact
request (kill a process, kill a connection, note that a stall began) instead of polling for it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pipeline.sandbox.server import SandboxServer
from pipeline.sandbox.twin import Twin

Arrival = Callable[[int, dict[str, Any]], Awaitable[None]]
"""Awaited before the twin sees a request: its number among all requests (from 1), its JSON."""


def serve_gated(twin: Twin, arrival: Arrival) -> SandboxServer:
    """Serve `twin` so that `await arrival(n, body)` runs before its n-th request reaches it.

    The twin answers only once `arrival` returns: whatever the test does there happens while the
    client still waits for that answer.
    """
    arrived = 0

    @web.middleware
    async def gate(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        nonlocal arrived
        arrived += 1
        await arrival(arrived, _json(await request.read()))  # the body stays readable
        return await handler(request)

    app = twin.make_app()
    app.middlewares.append(gate)
    return SandboxServer(app)


def _json(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
