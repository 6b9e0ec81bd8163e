"""Runs an aiohttp application on loopback, on a port the OS picks, for tests and the demo."""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

LOOPBACK = "127.0.0.1"


class SandboxServer:
    """Serves `app` on 127.0.0.1 (an ephemeral port unless one is given) while open."""

    def __init__(
        self, app: web.Application, *, port: int = 0, shutdown_timeout: float = 1.0
    ) -> None:
        # A short shutdown timeout: handlers stuck in a SLOW fault must not hold up the exit.
        self._runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, access_log=None)
        self._requested_port = port
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port; only valid inside the context."""
        if self._port is None:
            raise RuntimeError("the sandbox server is not running")
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:54321."""
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        """Bind and start serving."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, LOOPBACK, self._requested_port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        await self._runner.cleanup()
        self._port = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
