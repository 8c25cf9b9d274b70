"""Exercise 20, right: `limit` coroutines sharing one iterator of the URLs, a for loop with
raise_for_status and the error's own headers for the retries, asyncio.wait_for(..., deadline)
on a coroutine that gathers the batch, and done-callbacks on the tasks for the progress."""

import asyncio
from collections.abc import Callable

import aiohttp


async def _page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        return await response.text()


async def download_limited(urls: list[str], limit: int) -> list[str]:
    pages: list[str] = [""] * len(urls)
    todo = iter(enumerate(urls))  # shared: each item goes to exactly one of the loops

    async with aiohttp.ClientSession() as session:

        async def take_turns() -> None:
            for index, url in todo:
                pages[index] = await _page(session, url)

        await asyncio.gather(*(take_turns() for _ in range(min(limit, len(urls)))))
    return pages


async def get_with_retries(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            async with session.get(url, raise_for_status=True) as response:
                return await response.text()
        except aiohttp.ClientResponseError as error:
            if last or (error.status != 429 and error.status < 500):
                raise
            told = (error.headers or {}).get("Retry-After")
            await asyncio.sleep(base_delay * 2**attempt if told is None else int(told))
        except aiohttp.ClientConnectionError:
            if last:
                raise
            await asyncio.sleep(base_delay * 2**attempt)
    raise ValueError("attempts must be at least 1")


async def download_within(
    urls: list[str], limit: int, request_timeout: float, deadline: float
) -> list[str | None]:
    semaphore = asyncio.Semaphore(limit)
    pages: list[str | None] = [None] * len(urls)

    async with aiohttp.ClientSession() as session:

        async def one(index: int, url: str) -> None:
            async with semaphore:
                try:
                    async with asyncio.timeout(request_timeout):
                        pages[index] = await _page(session, url)
                except TimeoutError:
                    pass

        async def everything() -> None:
            # A coroutine of our own, not the gather itself: on Python 3.11, wait_for leaves
            # a cancelled gather's CancelledError unretrieved (asyncio logs it).
            await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))

        try:
            await asyncio.wait_for(everything(), deadline)
        except TimeoutError:
            pass
    return pages


async def download_with_progress(
    urls: list[str], limit: int, on_done: Callable[[str, int, int], object]
) -> list[str]:
    semaphore = asyncio.Semaphore(limit)
    done = 0

    def report(url: str) -> Callable[[asyncio.Task], None]:
        def finished(task: asyncio.Task) -> None:
            nonlocal done
            if not task.cancelled() and task.exception() is None:
                done += 1
                on_done(url, done, len(urls))

        return finished

    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> str:
            async with semaphore:
                return await _page(session, url)

        tasks = []
        for url in urls:
            task = asyncio.create_task(one(url))
            task.add_done_callback(report(url))  # before gather adds its own
            tasks.append(task)
        return list(await asyncio.gather(*tasks))
