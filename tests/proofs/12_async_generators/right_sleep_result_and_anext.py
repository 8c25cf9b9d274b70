"""Exercise 12, right: yield await sleep(result=...), break-style pages, anext() in take and keep
with try/finally aclose(), batched copies then clears.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]  # {"items": [...], "next": <page number> or None}


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    tick = 0
    while tick < count:
        tick += 1
        yield await asyncio.sleep(interval, result=tick)


async def paginate(fetch_page: Callable[[int], Awaitable[Page]]) -> AsyncIterator[Any]:
    number = 1
    while True:
        page = await fetch_page(number)
        items = list(page["items"])
        while items:
            yield items.pop(0)
        if page.get("next") is None:
            return
        number = page["next"]


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    items = []
    try:
        for _ in range(n):
            try:
                items.append(await anext(stream))
            except StopAsyncIteration:
                break
    finally:
        await stream.aclose()
    return items


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    try:
        while True:
            try:
                item = await anext(stream)
            except StopAsyncIteration:
                return
            if not predicate(item):
                continue
            yield item
    finally:
        await stream.aclose()


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    batch = []
    try:
        async for item in stream:
            batch.append(item)
            if len(batch) >= size:
                yield list(batch)
                batch.clear()
        if len(batch) > 0:
            yield batch[:]
    finally:
        await stream.aclose()
