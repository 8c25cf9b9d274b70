"""Exercise 09, wrong: keeps the last good price in a module-level cache and returns it on a
timeout instead of the fallback."""

import asyncio
from collections.abc import Awaitable, Callable

_last_price: dict[str, float] = {}  # the last good price, better than a fixed fallback


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    try:
        price = await asyncio.wait_for(fetch_price(), timeout=limit)
    except TimeoutError:
        return _last_price.get("price", fallback)
    _last_price["price"] = price
    return price


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    chunks: list[bytes] = []
    async with asyncio.timeout(budget) as deadline:
        while chunk := await read_chunk():
            chunks.append(chunk)
            deadline.reschedule(deadline.when() + bonus)
    return b"".join(chunks)


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    async with asyncio.timeout(limit):
        order = await build()
        return await asyncio.shield(commit(order))
