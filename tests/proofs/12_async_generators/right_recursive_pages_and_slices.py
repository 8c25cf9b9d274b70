"""Exercise 12, right: a recursive page stream, take() returning from inside aclosing, batched() by
slicing.
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
    async def from_page(number):
        page = await fetch_page(number)
        for item in page["items"]:
            yield item
        if page["next"] is not None:
            async for item in from_page(page["next"]):
                yield item

    async with contextlib.aclosing(from_page(1)) as items:
        async for item in items:
            yield item


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    if n == 0:
        return []
    out = []
    async with contextlib.aclosing(stream) as s:
        async for item in s:
            out.append(item)
            if len(out) >= n:
                return out
    return out


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    async with contextlib.aclosing(stream):
        async for item in stream:
            if predicate(item):
                yield item


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    async with contextlib.aclosing(stream) as items:
        batch = []
        async for item in items:
            batch = [*batch, item]
            if len(batch) < size:
                continue
            yield batch[:size]
            batch = batch[size:]
        if batch:
            yield batch
