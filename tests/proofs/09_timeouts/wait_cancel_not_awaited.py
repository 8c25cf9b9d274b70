"""Exercise 09, wrong: asyncio.wait with a timeout, cancels the call but returns before its
cleanup.
"""

import asyncio
from collections.abc import Awaitable, Callable


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    task = asyncio.create_task(fetch_price())
    done, _ = await asyncio.wait({task}, timeout=limit)
    if done:
        return task.result()
    task.cancel()
    return fallback


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
