"""`python -m tests.read_bomb URL RECEIVED DECODED`: read one answer from URL with the bounded
reader, capped at RECEIVED and DECODED bytes, and print how it ended. Run by
`test_body_bounds` under `benchmarks.peak_rss`, so its peak memory is its own."""

from __future__ import annotations

import asyncio
import sys

import aiohttp

from pipeline.bodies import BodyCaps, read_body
from pipeline.errors import ResponseTooLarge


async def main(url: str, caps: BodyCaps) -> None:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url) as response,
    ):
        try:
            body = await read_body(response, "Bomb", caps)
        except ResponseTooLarge as exc:
            print(exc)
            return
    print(f"read {len(body)} bytes")


if __name__ == "__main__":
    url, received, decoded = sys.argv[1:]
    asyncio.run(main(url, BodyCaps(int(received), int(decoded))))
