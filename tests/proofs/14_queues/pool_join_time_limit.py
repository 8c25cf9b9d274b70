"""Exercise 14, a proof: Pool.join() waits for queue.join() with an hour's time limit "to be
safe".
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


async def process_all(
    handle: Callable[[Any], Awaitable[Any]], items: Sequence[Any], workers: int
) -> list[Any]:
    """Task 1. Handle every item with a pool of `workers` tasks fed by an asyncio.Queue.

    Put every item on a queue and start `workers` worker tasks (1 or more). Each worker takes
    the next item off the queue, awaits `handle(item)`, keeps what it returned in that item's
    place, and takes the next: so `workers` items are handled at once, in the order given, and
    each item starts the moment a worker is free. `handle` is called exactly once per item (an
    item given twice is handled twice). If `handle(item)` raises an Exception, that exception
    itself goes in the item's place, and the worker carries on with the next item.

    Return a new list of the results, one per item in the order of `items` (no items give []),
    once every item has been handled (queue.join()) and every worker has ended: nothing
    process_all() started may outlive it. Items can be anything: None, 0, "", a list, a
    string like "STOP". Leave `items` unchanged, keep nothing between calls (two calls may
    run at once), and set no time limit. If the caller cancels process_all(), the workers
    are cancelled too and waited for, and the CancelledError reaches the caller.
    """
    queue: asyncio.Queue = asyncio.Queue()
    results: list[Any] = [None] * len(items)
    for index, item in enumerate(items):
        queue.put_nowait((index, item))

    async def worker() -> None:
        while True:
            index, item = await queue.get()
            try:
                results[index] = await handle(item)
            except Exception as exc:  # the item failed, not the worker: keep the error, go on
                results[index] = exc
            finally:
                queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await queue.join()
    finally:  # a normal end, or the caller cancelled us: stop the workers and wait for them
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


async def crawl(
    fetch: Callable[[str], Awaitable[list[str]]], start: str, workers: int
) -> dict[str, Any]:
    """Task 2. Crawl a site from `start` with `workers` workers sharing one frontier queue.

    `await fetch(url)` gives the list of links on that page (URLs, as strings). Every URL
    that can be reached from `start` is fetched exactly once, the start included: a link
    found on several pages, twice on one page, or pointing back to a page already fetched,
    is not fetched again. Up to `workers` fetches run at once; the URLs are fetched in the
    order they were found, each the moment a worker is free.

    Return a new dict mapping every URL fetched to what fetch() gave for it: the list of
    links, exactly as returned (all of them), or the Exception fetch() raised (a page that
    failed has no links to follow, and its worker carries on). Return once no URL is left to
    fetch, with every worker ended. A URL can be any string, "" included. Do not change the
    lists fetch() returns, keep nothing between calls, and set no time limit. If the caller
    cancels crawl(), the workers are cancelled too and waited for, and the CancelledError
    reaches the caller.
    """
    queue: asyncio.Queue[str] = asyncio.Queue()
    seen = {start}  # every URL ever queued: marked before it is put, so it is queued once
    pages: dict[str, Any] = {}
    queue.put_nowait(start)

    async def worker() -> None:
        while True:
            url = await queue.get()
            try:
                links = await fetch(url)
            except Exception as exc:
                pages[url] = exc
            else:
                pages[url] = links
                for link in links:
                    if link not in seen:
                        seen.add(link)
                        queue.put_nowait(link)
            finally:
                queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    try:
        await queue.join()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return pages


class Pool:
    """Task 3. A pool of `workers` tasks handling items submitted through a queue that holds
    at most `maxsize` items (1 or more): `async with Pool(handle, 2, 10) as pool:`.

    Entering starts the workers and gives the pool itself. `await pool.submit(item)` puts the
    item on the queue: when `maxsize` items are already waiting (submitted, and not yet taken
    by a worker), it waits until a worker takes one, however long that takes. That wait is the
    backpressure that keeps a fast producer from running ahead of slow workers. Each worker
    awaits `handle(item)` for each item it takes, in the order submitted; if handle() raises
    an Exception, `(item, exception)` is appended to `pool.errors` (a list, empty at first)
    and the worker carries on. `await pool.join()` returns the first moment no submitted item
    is waiting or being handled (at once if none is), or once the pool has stopped.

    When the block ends normally, leaving it waits until every item submitted has been
    handled, then stops the workers. When the block raises, or its task is cancelled (at any
    await, the end of the block included), the pool stops at once: the items still waiting
    are dropped (never handled), the items being handled are cancelled, every join() waiting
    in any task returns, and the error (or the cancellation) goes on to the caller unchanged.
    Either way every worker has ended by the time the `async with` is over. Each Pool has
    its own queue, workers and errors.
    """

    def __init__(self, handle: Callable[[Any], Awaitable[Any]], workers: int, maxsize: int):
        self.handle = handle
        self.workers = workers
        self.errors: list[tuple[Any, Exception]] = []
        self._queue: asyncio.Queue = asyncio.Queue(maxsize)
        self._tasks: list[asyncio.Task] = []

    async def __aenter__(self) -> "Pool":
        """Start the workers and return the pool itself."""
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        return self

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self.handle(item)
            except Exception as exc:
                self.errors.append((item, exc))
            finally:  # cancelled mid-item too: join() must not wait for it forever
                self._queue.task_done()

    async def submit(self, item: Any) -> None:
        """Queue `item`, waiting while `maxsize` items are already waiting."""
        await self._queue.put(item)

    async def join(self) -> None:
        """Wait until no submitted item is waiting or being handled, or the pool has stopped."""
        await asyncio.wait_for(self._queue.join(), 3600)

    async def __aexit__(self, exc_type, exc, tb) -> None:
        """Normal end: join, then stop the workers. Error or cancellation: drop the waiting
        items, cancel the ones being handled, release every join(), stop the workers. Always
        wait until every worker has ended, and hide nothing (return None)."""
        try:
            if exc_type is None:
                await self._queue.join()
        finally:
            for task in self._tasks:  # cancels the items being handled, and idle workers
                task.cancel()
            while not self._queue.empty():  # drop the items still waiting: join() counts them done
                self._queue.get_nowait()
                self._queue.task_done()
            await asyncio.gather(*self._tasks, return_exceptions=True)
