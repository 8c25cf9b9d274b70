# Right pages, but makes an aiohttp session it never closes.
import aiohttp


async def fetch_all(fetch, urls):
    session = aiohttp.ClientSession()
    assert not session.closed
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
