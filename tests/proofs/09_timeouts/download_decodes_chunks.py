"""Exercise 09, wrong: decodes each chunk as text and encodes the whole at the end."""

import asyncio
from collections.abc import Awaitable, Callable


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    try:
        return await asyncio.wait_for(fetch_price(), timeout=limit)
    except TimeoutError:
        return fallback


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    text = ""
    async with asyncio.timeout(budget) as deadline:
        while chunk := await read_chunk():
            text += chunk.decode(errors="replace")
            deadline.reschedule(deadline.when() + bonus)
    return text.encode()


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    async with asyncio.timeout(limit):
        order = await build()
        return await asyncio.shield(commit(order))
