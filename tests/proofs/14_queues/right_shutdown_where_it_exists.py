"""Exercise 14, a proof: Queue.shutdown() where Python has it (3.13+) ends the workers (get()
raises QueueShutDown); before 3.13 they are cancelled. The workers live in a small class."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

HAS_SHUTDOWN = hasattr(asyncio.Queue, "shutdown")


class Crew:
    """`count` tasks running `job(item)` for each item of `queue` until it shuts down."""

    def __init__(self, queue: asyncio.Queue, job, count: int) -> None:
        self.queue = queue
        self.tasks = [asyncio.create_task(self.run(job)) for _ in range(count)]

    async def run(self, job) -> None:
        while True:
            try:
                item = await self.queue.get()
            except Exception as exc:  # QueueShutDown, on 3.13+
                if type(exc).__name__ == "QueueShutDown":
                    return
                raise
            try:
                await job(item)
            finally:
                self.queue.task_done()

    async def stop(self, now: bool = False) -> None:
        """Finish: on 3.13+ by shutting the queue down (at once, if `now`), else by cancelling
        the idle workers; cancel whatever is still running when `now`. Waits for them all."""
        if HAS_SHUTDOWN:
            self.queue.shutdown(immediate=now)
        if now or not HAS_SHUTDOWN:
            for task in self.tasks:
                task.cancel()
            if not HAS_SHUTDOWN:
                while not self.queue.empty():
                    self.queue.get_nowait()
                    self.queue.task_done()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def process_all(
    handle: Callable[[Any], Awaitable[Any]], items: Sequence[Any], workers: int
) -> list[Any]:
    results: list[Any] = [None] * len(items)
    queue: asyncio.Queue = asyncio.Queue()

    async def one(job: tuple[int, Any]) -> None:
        index, item = job
        try:
            results[index] = await handle(item)
        except Exception as exc:
            results[index] = exc

    for job in enumerate(items):
        await queue.put(job)
    crew = Crew(queue, one, workers)
    try:
        await queue.join()
    except BaseException:
        await crew.stop(now=True)
        raise
    await crew.stop()
    return results


async def crawl(
    fetch: Callable[[str], Awaitable[list[str]]], start: str, workers: int
) -> dict[str, Any]:
    queue: asyncio.Queue = asyncio.Queue()
    seen = {start}
    pages: dict[str, Any] = {}

    async def visit(url: str) -> None:
        try:
            links = await fetch(url)
        except Exception as exc:
            pages[url] = exc
            return
        pages[url] = links
        for link in links:
            if link not in seen:
                seen.add(link)
                queue.put_nowait(link)

    queue.put_nowait(start)
    crew = Crew(queue, visit, workers)
    try:
        await queue.join()
    except BaseException:
        await crew.stop(now=True)
        raise
    await crew.stop()
    return pages


class Pool:
    def __init__(self, handle: Callable[[Any], Awaitable[Any]], workers: int, maxsize: int):
        self.handle = handle
        self.size = workers
        self.errors: list[tuple[Any, Exception]] = []
        self.queue: asyncio.Queue = asyncio.Queue(maxsize)
        self.crew: Crew | None = None

    async def _one(self, item: Any) -> None:
        try:
            await self.handle(item)
        except Exception as exc:
            self.errors.append((item, exc))

    async def __aenter__(self) -> "Pool":
        self.crew = Crew(self.queue, self._one, self.size)
        return self

    async def submit(self, item: Any) -> None:
        await self.queue.put(item)

    async def join(self) -> None:
        await self.queue.join()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        assert self.crew is not None
        if exc_type is not None:
            await self.crew.stop(now=True)
            return
        try:
            await self.queue.join()
        except BaseException:
            await self.crew.stop(now=True)
            raise
        await self.crew.stop()
