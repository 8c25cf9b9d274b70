"""Exercise 09, wrong: a wait_for per read whose timeout grows by bonus each chunk."""

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
    chunks: list[bytes] = []
    allowed = budget
    while chunk := await asyncio.wait_for(read_chunk(), allowed):
        chunks.append(chunk)
        allowed += bonus
    return b"".join(chunks)


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    async with asyncio.timeout(limit):
        order = await build()
        return await asyncio.shield(commit(order))
