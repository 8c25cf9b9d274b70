import asyncio

import aiohttp


async def _fetch(session, url):
    async with session.get(url) as response:
        return await response.text()


async def download_limited(urls: list[str], limit: int) -> list[str]:
    semaphore = asyncio.Semaphore(limit)
    async with aiohttp.ClientSession() as session:

        async def one(url):
            async with semaphore:
                return await _fetch(session, url)

        return list(await asyncio.gather(*(one(u) for u in urls)))


async def get_with_retries(session, url, attempts, base_delay):
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            async with session.get(url) as response:
                if response.status < 400:
                    return await response.text()
                retry_after = response.headers.get("Retry-After")
                response.raise_for_status()
        except aiohttp.ClientResponseError as error:
            if error.status not in (429, 500, 502, 503, 504):
                raise
            if attempt == attempts:
                raise
        except aiohttp.ClientConnectionError:
            if attempt == attempts:
                raise
        if retry_after is not None:
            await asyncio.sleep(int(retry_after))
        else:
            await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


async def download_within(urls, limit, request_timeout, deadline):
    semaphore = asyncio.Semaphore(limit)
    pages: list[str | None] = [None] * len(urls)
    async with aiohttp.ClientSession() as session:

        async def one(i, url):
            async with semaphore:
                try:
                    async with asyncio.timeout(request_timeout):
                        pages[i] = await _fetch(session, url)
                except TimeoutError:
                    pass

        try:
            async with asyncio.timeout(deadline):
                await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
        except TimeoutError:
            pass
    return pages


async def download_with_progress(urls, limit, on_done):
    semaphore = asyncio.Semaphore(limit)
    done = 0
    total = len(urls)
    async with aiohttp.ClientSession() as session:

        async def one(url):
            nonlocal done
            async with semaphore:
                page = await _fetch(session, url)
            done += 1
            on_done(url, done, total)
            return page

        return list(await asyncio.gather(*(one(u) for u in urls)))
