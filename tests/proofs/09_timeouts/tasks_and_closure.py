"""Exercise 09, right: wait_for on a task, reschedule from a closure, tasks under a timeout."""

import asyncio
from collections.abc import Awaitable, Callable


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    task = asyncio.create_task(fetch_price())
    try:
        return await asyncio.wait_for(task, limit)
    except TimeoutError:
        pass
    return fallback


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    parts = []

    async def read_all():
        nonlocal deadline
        while True:
            chunk = await read_chunk()
            if chunk == b"":
                return
            parts.append(chunk)
            deadline += bonus
            cm.reschedule(deadline)

    async with asyncio.timeout_at(deadline) as cm:
        await read_all()
    return b"".join(parts)


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    async with asyncio.timeout(limit):
        building = asyncio.create_task(build())
        order = await building
        saving = asyncio.create_task(commit(order))
        try:
            return await asyncio.shield(saving)
        except asyncio.CancelledError:
            await asyncio.sleep(0)
            raise
