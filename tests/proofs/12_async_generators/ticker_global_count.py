"""Exercise 12, wrong: ticker() keeps its count in a module-level variable shared by all."""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]  # {"items": [...], "next": <page number> or None}


_tick = 0


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    global _tick
    _tick = 0
    while _tick < count:
        await asyncio.sleep(interval)
        _tick += 1
        yield _tick


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
    async with contextlib.aclosing(stream):
        batch: list[T] = []
        async for item in stream:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
