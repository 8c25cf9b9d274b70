"""Exercise 14, a proof: workers stopped by sentinels (a unique object), not by cancel()."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

STOP = object()  # no caller can give this object: a safe sentinel


async def process_all(
    handle: Callable[[Any], Awaitable[Any]], items: Sequence[Any], workers: int
) -> list[Any]:
    queue: asyncio.Queue = asyncio.Queue()
    results: list[Any] = [None] * len(items)

    async def worker() -> None:
        while True:
            job = await queue.get()
            try:
                if job is STOP:
                    return
                index, item = job
                try:
                    results[index] = await handle(item)
                except Exception as exc:
                    results[index] = exc
            finally:
                queue.task_done()

    for job in enumerate(items):
        queue.put_nowait(job)
    for _ in range(workers):
        queue.put_nowait(STOP)  # after every item: FIFO, so a worker stops once none is left
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await queue.join()  # every item and every sentinel done: the workers are ending
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()  # only if we were cancelled: at a normal end none is left
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


async def crawl(
    fetch: Callable[[str], Awaitable[list[str]]], start: str, workers: int
) -> dict[str, Any]:
    frontier: asyncio.Queue = asyncio.Queue()
    queued = {start}
    pages: dict[str, Any] = {}

    async def worker() -> None:
        while (url := await frontier.get()) is not STOP:
            try:
                pages[url] = links = await fetch(url)
                new = [link for link in links if link not in queued]
                for link in new:
                    if link not in queued:  # a page may list a link twice
                        queued.add(link)
                        frontier.put_nowait(link)
            except Exception as exc:
                pages[url] = exc
            finally:
                frontier.task_done()
        frontier.task_done()

    frontier.put_nowait(start)
    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await frontier.join()
        for _ in tasks:
            frontier.put_nowait(STOP)
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return pages


class Pool:
    def __init__(self, handle: Callable[[Any], Awaitable[Any]], workers: int, maxsize: int):
        self.handle = handle
        self.count = workers
        self.errors: list[tuple[Any, Exception]] = []
        self.queue: asyncio.Queue = asyncio.Queue(maxsize)
        self.workers: list[asyncio.Task] = []

    async def __aenter__(self) -> "Pool":
        for _ in range(self.count):
            self.workers.append(asyncio.create_task(self.work()))
        return self

    async def work(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                if item is STOP:
                    return
                try:
                    await self.handle(item)
                except Exception as exc:
                    self.errors.append((item, exc))
            finally:
                self.queue.task_done()

    async def submit(self, item: Any) -> None:
        await self.queue.put(item)

    async def join(self) -> None:
        await self.queue.join()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                await self.queue.join()
                for _ in self.workers:
                    await self.queue.put(STOP)  # room is made as each worker takes one
                await asyncio.gather(*self.workers)
                return
            except BaseException:
                await self.abort()
                raise
        await self.abort()

    async def abort(self) -> None:
        for worker in self.workers:
            worker.cancel()
        while True:
            try:
                self.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            self.queue.task_done()
        await asyncio.gather(*self.workers, return_exceptions=True)
