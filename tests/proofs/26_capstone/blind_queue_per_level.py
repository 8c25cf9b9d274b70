# Right (blind review c4): per level a Queue and min(limit, n) workers, asyncio.wait_for.
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


async def fetch_page(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            async with session.get(url) as response:
                status = response.status
                if status < 400:
                    return await response.text()
                if status != 429 and status < 500:
                    raise FetchFailed(url, str(status))
                reason = str(status)
                retry_after = response.headers.get("Retry-After")
        except aiohttp.ClientConnectionError:
            reason = "unreachable"
        if attempt == attempts:
            raise FetchFailed(url, reason)
        if retry_after is not None:
            delay = float(retry_after)
        else:
            delay = base_delay * 2 ** (attempt - 1)
        await asyncio.sleep(delay)
    raise AssertionError("unreachable code")


async def crawl(
    start, *, limit, max_depth, attempts=1, base_delay=1.0, deadline=None, on_page=None
):
    result = Crawl()
    seen = {start: 0}
    done = [0]

    async def worker(session, queue, depth, nxt):
        while True:
            try:
                url = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                body = await fetch_page(session, url, attempts, base_delay)
            except FetchFailed as exc:
                result.failures[url] = exc.reason
            else:
                result.pages[url] = depth
                if depth < max_depth:
                    for link in links_in(body, url):
                        if link not in seen:
                            seen[link] = depth + 1
                            nxt.append(link)
            done[0] += 1
            if on_page:
                on_page(url, done[0], len(seen))

    async def run(session):
        level, depth = [start], 0
        while level:
            queue: asyncio.Queue[str] = asyncio.Queue()
            for url in level:
                queue.put_nowait(url)
            nxt: list[str] = []
            async with asyncio.TaskGroup() as tg:
                for _ in range(min(limit, len(level))):
                    tg.create_task(worker(session, queue, depth, nxt))
            level, depth = nxt, depth + 1

    async with aiohttp.ClientSession() as session:
        try:
            await asyncio.wait_for(run(session), deadline)
        except TimeoutError:
            pass
    result.unfinished = set(seen) - set(result.pages) - set(result.failures)
    return result
