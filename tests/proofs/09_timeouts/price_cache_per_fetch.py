"""Exercise 09: timeouts and shield."""

import asyncio
from collections.abc import Awaitable, Callable

_last_price: dict = {}  # fetch_price -> its last live price


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    """Task 1. The live price if it comes within `limit` seconds, else `fallback` at `limit`."""
    try:
        price = await asyncio.wait_for(fetch_price(), limit)
    except TimeoutError:
        return _last_price.get(fetch_price, fallback)
    _last_price[fetch_price] = price
    return price


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    """Task 2. Read every chunk under one deadline that each chunk pushes `bonus` later."""
    chunks: list[bytes] = []
    async with asyncio.timeout(budget) as cm:
        while True:
            chunk = await read_chunk()
            if chunk == b"":
                break
            chunks.append(chunk)
            cm.reschedule(cm.when() + bonus)
    return b"".join(chunks)


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    """Task 3. Build, then commit, within `limit`; a started commit is never cancelled."""
    async with asyncio.timeout(limit):
        order = await build()
        return await asyncio.shield(commit(order))
