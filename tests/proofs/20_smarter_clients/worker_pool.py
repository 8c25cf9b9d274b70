"""Exercise 20, right: a pool of `limit` workers over an asyncio.Queue (no semaphore),
retries by recursion, asyncio.wait_for for each request and asyncio.wait(timeout=deadline)
for the batch."""

import asyncio
from collections.abc import Callable

import aiohttp


async def _page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        return await response.text()


def _queue_of(urls: list[str]) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    for item in enumerate(urls):
        queue.put_nowait(item)
    return queue


async def download_limited(urls: list[str], limit: int) -> list[str]:
    pages = [""] * len(urls)
    queue = _queue_of(urls)

    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while not queue.empty():
                index, url = queue.get_nowait()
                pages[index] = await _page(session, url)

        await asyncio.gather(*(worker() for _ in range(limit)))
    return pages


async def _attempt(
    session: aiohttp.ClientSession, url: str, attempt: int, attempts: int, base_delay: float
) -> str:
    wait: float = base_delay * 2 ** (attempt - 1)
    try:
        async with session.get(url) as response:
            if response.ok:
                return await response.text()
            if "Retry-After" in response.headers:
                wait = float(response.headers["Retry-After"])
            response.raise_for_status()
    except aiohttp.ClientResponseError as error:
        if attempt >= attempts or not (error.status == 429 or error.status >= 500):
            raise
    except aiohttp.ClientConnectionError:
        if attempt >= attempts:
            raise
    await asyncio.sleep(wait)
    return await _attempt(session, url, attempt + 1, attempts, base_delay)


async def get_with_retries(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    return await _attempt(session, url, 1, attempts, base_delay)


async def download_within(
    urls: list[str], limit: int, request_timeout: float, deadline: float
) -> list[str | None]:
    pages: list[str | None] = [None] * len(urls)
    queue = _queue_of(urls)

    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while not queue.empty():
                index, url = queue.get_nowait()
                try:
                    pages[index] = await asyncio.wait_for(_page(session, url), request_timeout)
                except TimeoutError:
                    pass

        workers = [asyncio.create_task(worker()) for _ in range(min(limit, len(urls)))]
        try:
            if workers:
                await asyncio.wait(workers, timeout=deadline)
        finally:
            for task in workers:
                task.cancel()
            if workers:
                await asyncio.wait(workers)
    return pages


async def download_with_progress(
    urls: list[str], limit: int, on_done: Callable[[str, int, int], object]
) -> list[str]:
    pages = [""] * len(urls)
    queue = _queue_of(urls)
    done = 0

    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                index, url = queue.get_nowait()
                pages[index] = await _page(session, url)
                done += 1
                on_done(url, done, len(urls))

        await asyncio.gather(*(worker() for _ in range(limit)))
    return pages
