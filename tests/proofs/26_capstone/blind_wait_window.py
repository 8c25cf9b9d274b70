# Right (blind review c3): a sliding window with asyncio.wait(FIRST_COMPLETED).
"""Exercise 26: the capstone, a crawler."""

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin

import aiohttp

_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def links_in(body: str, base: str) -> list[str]:
    return [urldefrag(urljoin(base, href)).url for href in _HREF.findall(body)]


class FetchFailed(Exception):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass
class Crawl:
    pages: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    unfinished: set[str] = field(default_factory=set)


async def fetch_page(session, url, attempts, base_delay):
    reason = "unreachable"
    for k in range(1, attempts + 1):
        header = None
        try:
            async with session.get(url) as resp:
                if resp.status < 400:
                    return await resp.text()
                if resp.status == 429 or resp.status >= 500:
                    reason = str(resp.status)
                    header = resp.headers.get("Retry-After")
                else:
                    raise FetchFailed(url, str(resp.status))
        except aiohttp.ClientConnectionError:
            reason = "unreachable"
        if k < attempts:
            await asyncio.sleep(int(header) if header is not None else base_delay * 2 ** (k - 1))
    raise FetchFailed(url, reason)


async def crawl(
    start, *, limit, max_depth, attempts=1, base_delay=1.0, deadline=None, on_page=None
):
    loop = asyncio.get_running_loop()
    end = None if deadline is None else loop.time() + deadline
    out = Crawl()
    found = {start: 0}
    count = 0

    async def page(session, url, nxt):
        nonlocal count
        d = found[url]
        try:
            body = await fetch_page(session, url, attempts, base_delay)
        except FetchFailed as e:
            out.failures[url] = e.reason
        else:
            out.pages[url] = d
            if d < max_depth:
                for link in links_in(body, url):
                    if link not in found:
                        found[link] = d + 1
                        nxt.append(link)
        count += 1
        if on_page is not None:
            on_page(url, count, len(found))

    running: set[asyncio.Task] = set()
    session = aiohttp.ClientSession()
    try:
        level = [start]
        timed_out = False
        while level and not timed_out:
            nxt: list[str] = []
            todo = list(level)
            while todo or running:
                while todo and len(running) < limit:
                    running.add(asyncio.create_task(page(session, todo.pop(0), nxt)))
                timeout = None if end is None else max(0, end - loop.time())
                finished, running = await asyncio.wait(
                    running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for t in finished:
                    t.result()
                if not finished:
                    timed_out = True
                    break
            level = nxt
    finally:
        for t in running:
            t.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        await session.close()
    out.unfinished = set(found) - set(out.pages) - set(out.failures)
    return out
