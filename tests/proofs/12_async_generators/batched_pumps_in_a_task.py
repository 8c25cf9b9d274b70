"""Exercise 12, wrong: batched() reads its input in a background task into a queue, so a cancelled
consumer leaves the input running.
"""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]  # {"items": [...], "next": <page number> or None}


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    for tick in range(1, count + 1):
        await asyncio.sleep(interval)
        yield tick


async def paginate(fetch_page: Callable[[int], Awaitable[Page]]) -> AsyncIterator[Any]:
    number: int | None = 1
    while number is not None:
        page = await fetch_page(number)
        for item in page["items"]:
            yield item
        number = page["next"]


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    taken: list[T] = []
    async with contextlib.aclosing(stream):
        if n <= 0:
            return taken
        async for item in stream:
            taken.append(item)
            if len(taken) == n:
                break
    return taken


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    async with contextlib.aclosing(stream):
        async for item in stream:
            if predicate(item):
                yield item


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    queue: asyncio.Queue = asyncio.Queue(1)
    done = object()

    async def pump() -> None:
        async with contextlib.aclosing(stream):
            async for item in stream:
                await queue.put(item)
        await queue.put(done)

    pumping = asyncio.create_task(pump())
    try:
        batch: list[T] = []
        while (item := await queue.get()) is not done:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
    except GeneratorExit:
        pumping.cancel()
        raise
