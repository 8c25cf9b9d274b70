"""Exercise 20, right: TaskGroups and a Semaphore, a while loop with a doubling delay for the
retries, asyncio.wait_for inside the slot with asyncio.timeout around the batch, and
asyncio.as_completed over tasks made in order for the progress."""

import asyncio
from collections.abc import Callable

import aiohttp


async def _page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        return await response.text()


async def download_limited(urls: list[str], limit: int) -> list[str]:
    semaphore = asyncio.Semaphore(limit)
    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> str:
            async with semaphore:
                return await _page(session, url)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(url)) for url in urls]
    return [task.result() for task in tasks]


async def get_with_retries(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    attempt, delay = 1, base_delay
    while True:
        told: str | None = None
        failure: Exception
        try:
            async with session.get(url) as response:
                status = response.status
                if status < 400:
                    return await response.text()
                told = response.headers.get("Retry-After")
                try:
                    response.raise_for_status()
                except aiohttp.ClientResponseError as error:
                    failure = error
            if status != 429 and status < 500:
                raise failure
        except aiohttp.ClientConnectionError as error:
            failure = error
        if attempt == attempts:
            raise failure
        await asyncio.sleep(delay if told is None else float(told))
        attempt, delay = attempt + 1, delay * 2


async def download_within(
    urls: list[str], limit: int, request_timeout: float, deadline: float
) -> list[str | None]:
    semaphore = asyncio.Semaphore(limit)
    pages: list[str | None] = [None] * len(urls)
    async with aiohttp.ClientSession() as session:

        async def one(index: int, url: str) -> None:
            async with semaphore:
                try:
                    pages[index] = await asyncio.wait_for(_page(session, url), request_timeout)
                except TimeoutError:
                    pages[index] = None

        try:
            async with asyncio.timeout(deadline), asyncio.TaskGroup() as group:
                for index, url in enumerate(urls):
                    group.create_task(one(index, url))
        except TimeoutError:
            pass
    return pages


async def download_with_progress(
    urls: list[str], limit: int, on_done: Callable[[str, int, int], object]
) -> list[str]:
    semaphore = asyncio.Semaphore(limit)
    pages = [""] * len(urls)
    async with aiohttp.ClientSession() as session:

        async def one(index: int, url: str) -> tuple[int, str]:
            async with semaphore:
                return index, await _page(session, url)

        tasks = [asyncio.create_task(one(i, url)) for i, url in enumerate(urls)]
        try:
            for done, finished in enumerate(asyncio.as_completed(tasks), 1):
                index, pages[index] = await finished
                on_done(urls[index], done, len(urls))
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks)
    return pages
