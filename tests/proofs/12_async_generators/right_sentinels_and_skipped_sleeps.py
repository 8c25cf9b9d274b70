"""Exercise 12, right: a ticker that skips the sleep for interval 0, pagination with .get()
and a copied item list, anext() with a private sentinel object in take and keep, and batches
built in a deque and yielded as new lists."""

import asyncio
import collections
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]  # {"items": [...], "next": <page number> or None}

_END = object()  # what anext() returns once the stream has ended: no item can be this


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    tick = 1
    while tick <= count:
        if interval > 0:
            await asyncio.sleep(interval)
        yield tick
        tick += 1


async def paginate(fetch_page: Callable[[int], Awaitable[Page]]) -> AsyncIterator[Any]:
    number: int | None = 1
    while True:
        page = await fetch_page(number)
        items = list(page["items"])
        for index in range(len(items)):
            yield items[index]
        number = page.get("next")
        if number is None:
            break


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    result: list[T] = []
    try:
        while len(result) < n:
            item = await anext(stream, _END)
            if item is _END:
                break
            result.append(item)  # type: ignore[arg-type]
    finally:
        await stream.aclose()
    return result


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    try:
        while (item := await anext(stream, _END)) is not _END:
            if predicate(item):  # type: ignore[arg-type]
                yield item  # type: ignore[misc]
    finally:
        await stream.aclose()


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    pending: collections.deque[T] = collections.deque()
    try:
        async for item in stream:
            pending.append(item)
            if len(pending) == size:
                yield list(pending)
                pending.clear()
    finally:
        await stream.aclose()
    if pending:
        yield list(pending)
