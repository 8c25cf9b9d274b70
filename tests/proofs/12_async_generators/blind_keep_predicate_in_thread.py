"""Exercise 12: async generators."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]  # {"items": [...], "next": <page number> or None}


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    """Task 1. Yield the ticks 1, 2, ..., count, one every `interval` seconds."""
    for tick in range(1, count + 1):
        await asyncio.sleep(interval)
        yield tick


async def paginate(fetch_page: Callable[[int], Awaitable[Page]]) -> AsyncIterator[Any]:
    """Task 2. Yield every item of a paginated API, one by one, fetching pages lazily."""
    number: int | None = 1
    while number is not None:
        page = await fetch_page(number)
        for item in page["items"]:
            yield item
        number = page["next"]


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    """Task 3. Return the first `n` items of `stream` as a list, the stream closed."""
    items: list[T] = []
    async with contextlib.aclosing(stream):
        while len(items) < n:
            try:
                item = await anext(stream)
            except StopAsyncIteration:
                break
            items.append(item)
    return items


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    """Task 4. A pipeline stage: yield the items of `stream` for which `predicate` is true."""
    async with contextlib.aclosing(stream):
        async for item in stream:
            if await asyncio.to_thread(predicate, item):
                yield item


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    """Task 4. A pipeline stage: yield the items of `stream` in lists of `size`."""
    async with contextlib.aclosing(stream):
        batch: list[T] = []
        async for item in stream:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
