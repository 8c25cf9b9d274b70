"""Exercise 09, wrong: keeps the deadline by hand with call_later(task.cancel) and turns every
CancelledError into TimeoutError, the caller's cancel included."""

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
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    deadline = loop.time() + budget
    timer = loop.call_at(deadline, me.cancel)
    chunks: list[bytes] = []
    try:
        while chunk := await read_chunk():
            chunks.append(chunk)
            deadline += bonus
            timer.cancel()
            timer = loop.call_at(deadline, me.cancel)
    except asyncio.CancelledError:
        raise TimeoutError from None
    finally:
        timer.cancel()
    return b"".join(chunks)


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    async with asyncio.timeout(limit):
        order = await build()
        return await asyncio.shield(commit(order))
