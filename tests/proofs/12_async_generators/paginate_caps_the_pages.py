"""Exercise 12: async generators."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    for tick in range(1, count + 1):
        await asyncio.sleep(interval)
        yield tick


async def paginate(fetch_page: Callable[[int], Awaitable[Page]]) -> AsyncIterator[Any]:
    number = 1
    for _ in range(100):
        page = await fetch_page(number)
        for item in page["items"]:
            yield item
        number = page["next"]
        if number is None:
            break


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    items: list[T] = []
    async with contextlib.aclosing(stream):
        if n > 0:
            async for item in stream:
                items.append(item)
                if len(items) == n:
                    break
    return items


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    async with contextlib.aclosing(stream):
        async for item in stream:
            if predicate(item):
                yield item


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    async with contextlib.aclosing(stream):
        batch: list[T] = []
        async for item in stream:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
