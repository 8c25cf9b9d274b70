"""Exercise 12, wrong: paginate() loops while the page number is truthy, so a next of 0 ends it."""

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
    number = 1
    while number:
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
    async with contextlib.aclosing(stream):
        batch: list[T] = []
        async for item in stream:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
