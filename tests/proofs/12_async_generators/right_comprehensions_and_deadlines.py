"""Exercise 12, a correct answer written differently: a deadline-based ticker, pages as a
stream of their own, take() as an async comprehension over a limiting generator."""

import asyncio
import contextlib


async def ticker(interval, count):
    loop = asyncio.get_running_loop()
    start = loop.time()
    tick = 0
    while tick < count:
        tick += 1
        await asyncio.sleep(start + tick * interval - loop.time())
        yield tick


async def _pages(fetch_page):
    number = 1
    while True:
        page = await fetch_page(number)
        yield page
        if page["next"] is None:
            return
        number = page["next"]


async def paginate(fetch_page):
    async with contextlib.aclosing(_pages(fetch_page)) as pages:
        async for page in pages:
            for item in page["items"]:
                yield item


async def _first(stream, n):
    if n <= 0:
        return
    count = 0
    async for item in stream:
        yield item
        count += 1
        if count == n:
            return


async def take(stream, n):
    async with contextlib.aclosing(stream):
        return [item async for item in _first(stream, n)]


async def keep(stream, predicate):
    async with contextlib.aclosing(stream) as items:
        async for item in items:
            if not predicate(item):
                continue
            yield item


async def batched(stream, size):
    async with contextlib.aclosing(stream):
        batch = []
        async for item in stream:
            batch.append(item)
            if len(batch) < size:
                continue
            yield batch
            batch = []
    if batch:
        yield batch
