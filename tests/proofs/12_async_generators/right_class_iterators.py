"""Exercise 12, a correct answer written differently: async iterator classes with
__aiter__/__anext__ for the sources, anext() by hand and try/finally + aclose() elsewhere."""

import asyncio


class Ticker:
    def __init__(self, interval, count):
        self.interval, self.count, self.last = interval, count, 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.last >= self.count:
            raise StopAsyncIteration
        await asyncio.sleep(self.interval)
        self.last += 1
        return self.last


def ticker(interval, count):
    return Ticker(interval, count)


class Pages:
    def __init__(self, fetch_page):
        self.fetch_page, self.next_page, self.pending = fetch_page, 1, []

    def __aiter__(self):
        return self

    async def __anext__(self):
        while not self.pending:
            if self.next_page is None:
                raise StopAsyncIteration
            page = await self.fetch_page(self.next_page)
            self.pending, self.next_page = list(page["items"]), page["next"]
        return self.pending.pop(0)


def paginate(fetch_page):
    return Pages(fetch_page)


async def take(stream, n):
    taken = []
    try:
        while len(taken) < n:
            try:
                taken.append(await anext(stream))
            except StopAsyncIteration:
                break
    finally:
        await stream.aclose()
    return taken


async def keep(stream, predicate):
    try:
        while True:
            try:
                item = await anext(stream)
            except StopAsyncIteration:
                return
            if predicate(item):
                yield item
    finally:
        await stream.aclose()


async def batched(stream, size):
    batch = []
    try:
        async for item in stream:
            batch = [*batch, item]
            if len(batch) >= size:
                full, batch = batch, []
                yield full
    finally:
        await stream.aclose()
    if batch:
        yield batch
