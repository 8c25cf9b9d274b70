"""Exercise 14, a proof: TaskGroups run the workers; the pool's join() is released by an Event
when the pool stops, instead of dropping the waiting items with task_done()."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


async def process_all(
    handle: Callable[[Any], Awaitable[Any]], items: Sequence[Any], workers: int
) -> list[Any]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    results: list[Any] = [None] * len(items)
    for index in range(len(items)):
        queue.put_nowait(index)

    async def worker() -> None:
        while True:
            index = await queue.get()
            try:
                results[index] = await handle(items[index])
            except Exception as exc:
                results[index] = exc
            finally:
                queue.task_done()

    async with asyncio.TaskGroup() as tg:
        pool = [tg.create_task(worker()) for _ in range(workers)]
        await queue.join()
        for task in pool:
            task.cancel()  # a cancelled child does not fail the group
    return results


async def crawl(
    fetch: Callable[[str], Awaitable[list[str]]], start: str, workers: int
) -> dict[str, Any]:
    todo: asyncio.Queue[str] = asyncio.Queue()
    seen: set[str] = set()
    out: dict[str, Any] = {}

    def add(url: str) -> None:
        if url not in seen:
            seen.add(url)
            todo.put_nowait(url)

    async def worker() -> None:
        while True:
            url = await todo.get()
            try:
                links = await fetch(url)
            except Exception as exc:
                out[url] = exc
                links = []
            else:
                out[url] = links
            try:
                for link in links:
                    add(link)
            finally:
                todo.task_done()

    add(start)
    async with asyncio.TaskGroup() as tg:
        crew = [tg.create_task(worker()) for _ in range(workers)]
        await todo.join()
        for task in crew:
            task.cancel()
    return out


class Pool:
    def __init__(self, handle: Callable[[Any], Awaitable[Any]], workers: int, maxsize: int):
        self._handle = handle
        self._n = workers
        self.errors: list[tuple[Any, Exception]] = []
        self._queue: asyncio.Queue = asyncio.Queue(maxsize=maxsize)
        self._stopped = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> "Pool":
        self._tasks = {asyncio.create_task(self._worker()) for _ in range(self._n)}
        return self

    async def _worker(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception as exc:
                self.errors.append((item, exc))
            finally:
                self._queue.task_done()

    async def submit(self, item: Any) -> None:
        await self._queue.put(item)

    async def join(self) -> None:
        if self._stopped.is_set():
            return
        joined = asyncio.ensure_future(self._queue.join())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({joined, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (joined, stopped):
                waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(joined, stopped, return_exceptions=True)

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                await self._queue.join()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(self._tasks) if self._tasks else None
            self._stopped.set()
