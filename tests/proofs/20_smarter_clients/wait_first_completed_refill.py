import asyncio

import aiohttp


async def _window(urls, limit, make):
    """make(i, url) -> coroutine. Runs them at most `limit` at a time, in order."""
    pending: set = set()
    it = iter(enumerate(urls))
    try:
        for i, url in it:
            pending.add(asyncio.create_task(make(i, url)))
            if len(pending) >= limit:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    t.result()
        if pending:
            await asyncio.wait(pending)
            for t in pending:
                t.result()
            pending = set()
    finally:
        if pending:
            for t in pending:
                t.cancel()
            await asyncio.wait(pending)


async def download_limited(urls: list[str], limit: int) -> list[str]:
    pages: list = [None] * len(urls)
    async with aiohttp.ClientSession() as session:

        async def make(i, url):
            async with session.get(url) as r:
                pages[i] = await r.text()

        await _window(urls, limit, make)
    return pages


async def get_with_retries(session, url, attempts, base_delay):
    k = 0
    while True:
        k += 1
        retry_after = None
        try:
            async with session.get(url) as r:
                retry_after = r.headers.get("Retry-After")
                r.raise_for_status()
                return await r.text()
        except aiohttp.ClientResponseError as e:
            if not (e.status == 429 or e.status >= 500) or k >= attempts:
                raise
        except aiohttp.ClientConnectionError:
            if k >= attempts:
                raise
        delay = base_delay * 2 ** (k - 1) if retry_after is None else int(retry_after)
        await asyncio.sleep(delay)


async def download_within(urls, limit, request_timeout, deadline):
    pages: list = [None] * len(urls)
    async with aiohttp.ClientSession() as session:

        async def make(i, url):
            try:
                async with asyncio.timeout(request_timeout):
                    async with session.get(url) as r:
                        pages[i] = await r.text()
            except TimeoutError:
                pass

        try:
            async with asyncio.timeout(deadline):
                await _window(urls, limit, make)
        except TimeoutError:
            pass
    return pages


async def download_with_progress(urls, limit, on_done):
    pages: list = [None] * len(urls)
    done = 0
    async with aiohttp.ClientSession() as session:

        async def make(i, url):
            nonlocal done
            async with session.get(url) as r:
                pages[i] = await r.text()
            done += 1
            on_done(url, done, len(urls))

        await _window(urls, limit, make)
    return pages
