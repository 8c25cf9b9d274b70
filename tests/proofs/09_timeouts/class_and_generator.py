"""Exercise 09, right: a task under timeout_at, a class reading an async generator, wait_for around
a build-then-shield helper.
"""

import asyncio
from collections.abc import Awaitable, Callable


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    task = asyncio.create_task(fetch_price())
    await asyncio.sleep(0)
    try:
        async with asyncio.timeout_at(asyncio.get_running_loop().time() + limit):
            price = await task
    except TimeoutError:
        price = fallback
    return price


class _Download:
    def __init__(self, read_chunk, budget, bonus):
        self.read_chunk = read_chunk
        self.budget = budget
        self.bonus = bonus
        self.chunks: list[bytes] = []

    async def run(self) -> bytes:
        deadline = asyncio.get_running_loop().time() + self.budget
        async with asyncio.timeout_at(deadline) as cm:
            async for chunk in self._chunks():
                self.chunks.append(chunk)
                deadline += self.bonus
                cm.reschedule(deadline)
        return b"".join(self.chunks)

    async def _chunks(self):
        while chunk := await self.read_chunk():
            yield chunk


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    return await _Download(read_chunk, budget, bonus).run()


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    async def build_then_commit() -> str:
        order = await build()
        saving = asyncio.ensure_future(commit(order))
        return await asyncio.shield(saving)

    return await asyncio.wait_for(build_then_commit(), timeout=limit)
