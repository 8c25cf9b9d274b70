# Right (blind review c7): fetch_page with raise_for_status().
"""Exercise 26: the capstone, a crawler."""

import asyncio
import re
from collections.abc import Callable
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
    for attempt in range(1, attempts + 1):
        delay = base_delay * 2 ** (attempt - 1)
        try:
            async with session.get(url) as response:
                response.raise_for_status()
                return await response.text()
        except aiohttp.ClientResponseError as error:
            if error.status != 429 and error.status < 500:
                raise FetchFailed(url, str(error.status)) from error
            reason = str(error.status)
            if error.headers is not None and "Retry-After" in error.headers:
                delay = float(error.headers["Retry-After"])
        except aiohttp.ClientConnectionError:
            reason = "unreachable"
        if attempt == attempts:
            raise FetchFailed(url, reason)
        await asyncio.sleep(delay)
    raise ValueError(attempts)


async def crawl(
    start: str,
    *,
    limit: int,
    max_depth: int,
    attempts: int = 1,
    base_delay: float = 1.0,
    deadline: float | None = None,
    on_page: Callable[[str, int, int], object] | None = None,
) -> Crawl:
    loop = asyncio.get_running_loop()
    when = None if deadline is None else loop.time() + deadline
    result = Crawl()
    found = {start: 0}
    done = 0
    semaphore = asyncio.Semaphore(limit)

    async def one(session, url, depth, following):
        nonlocal done
        async with semaphore:
            try:
                body = await fetch_page(session, url, attempts, base_delay)
            except FetchFailed as error:
                result.failures[url] = error.reason
                body = None
        if body is not None:
            result.pages[url] = depth
            if depth < max_depth:
                for link in links_in(body, url):
                    if link not in found:
                        found[link] = depth + 1
                        following.append(link)
        done += 1
        if on_page is not None:
            on_page(url, done, len(found))

    async with aiohttp.ClientSession() as session:
        try:
            async with asyncio.timeout_at(when) as cm:
                level = [start]
                depth = 0
                while level:
                    following = []
                    await asyncio.gather(*(one(session, url, depth, following) for url in level))
                    level = following
                    depth += 1
        except TimeoutError:
            if not cm.expired():
                raise
        result.unfinished = set(found) - result.pages.keys() - result.failures.keys()
    return result
