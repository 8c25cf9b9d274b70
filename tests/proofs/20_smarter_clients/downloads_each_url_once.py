"""Exercise 20, wrong: downloads each distinct URL once and reuses its page for the repeats."""

import asyncio
from collections.abc import Callable

import aiohttp


async def _page(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:  # released on the way out, whatever happens
        return await response.text()


async def download_limited(urls: list[str], limit: int) -> list[str]:
    semaphore = asyncio.Semaphore(limit)
    unique = list(dict.fromkeys(urls))

    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> str:
            async with semaphore:
                return await _page(session, url)

        pages = dict(zip(unique, await asyncio.gather(*(one(url) for url in unique)), strict=True))
    return [pages[url] for url in urls]


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


async def get_with_retries(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            async with session.get(url) as response:
                if response.status < 400:
                    return await response.text()
                retry_after = response.headers.get("Retry-After")
                response.raise_for_status()  # ClientResponseError, with .status
        except aiohttp.ClientResponseError as error:
            if not _retryable(error.status) or attempt == attempts:
                raise
        except aiohttp.ClientConnectionError:
            if attempt == attempts:
                raise
        if retry_after is not None:
            await asyncio.sleep(int(retry_after))  # "0" is a wait of 0, not "no header"
        else:
            await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


async def download_within(
    urls: list[str], limit: int, request_timeout: float, deadline: float
) -> list[str | None]:
    semaphore = asyncio.Semaphore(limit)
    pages: list[str | None] = [None] * len(urls)

    async with aiohttp.ClientSession() as session:

        async def one(index: int, url: str) -> None:
            async with semaphore:
                try:
                    async with asyncio.timeout(request_timeout):  # its clock starts now
                        pages[index] = await _page(session, url)
                except TimeoutError:
                    pass  # stays None; the slot is given back on the way out

        try:
            async with asyncio.timeout(deadline):  # the whole batch
                await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))
        except TimeoutError:
            pass  # gather has cancelled and awaited what was left; the pages read are kept
    return pages


async def download_with_progress(
    urls: list[str], limit: int, on_done: Callable[[str, int, int], object]
) -> list[str]:
    semaphore = asyncio.Semaphore(limit)
    done = 0

    async with aiohttp.ClientSession() as session:

        async def one(url: str) -> str:
            nonlocal done
            async with semaphore:
                page = await _page(session, url)
            done += 1
            on_done(url, done, len(urls))  # as it completes, not after the gather
            return page

        return list(await asyncio.gather(*(one(url) for url in urls)))
