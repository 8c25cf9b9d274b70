"""Exercise 26, a proof: each fetch_page() call in asyncio.shield(), "so that a page half-fetched
is not lost": a cancel (the deadline's, or the caller's) leaves its fetch running.
"""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urldefrag, urljoin

import aiohttp

# Already written: use them as they are.

_HREF = re.compile(r"""href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def links_in(body: str, base: str) -> list[str]:
    """The links on a page, in the order they appear on it, repeats kept: every href made
    absolute against `base` (the page's own URL), its #fragment dropped. Two links to the
    same page are the same string, so a set of them dedupes exactly."""
    return [urldefrag(urljoin(base, href)).url for href in _HREF.findall(body)]


class FetchFailed(Exception):
    """fetch_page() gave up on `url`. `reason` says why, as a short str: the status of the
    last answer ("404", "503", "429"...), or "unreachable" when the server could not be
    reached (aiohttp.ClientConnectionError)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass
class Crawl:
    """What crawl() found. `pages`: every page fetched, URL -> its depth (the fewest links
    from the start page to it: the start page is 0). `failures`: every page that could not
    be fetched, URL -> FetchFailed.reason (a str). `unfinished`: the URLs found but neither
    fetched nor failed when the deadline came (empty when the crawl ran to its end)."""

    pages: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    unfinished: set[str] = field(default_factory=set)


# The learner's part.


async def fetch_page(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    for attempt in range(1, attempts + 1):
        retry_after = None
        try:
            async with session.get(url) as response:  # released on the way out
                if response.status < 400:
                    return await response.text()
                reason = str(response.status)
                retry_after = response.headers.get("Retry-After")
                if response.status != 429 and response.status < 500:
                    raise FetchFailed(url, reason)  # a 404 is not worth another request
        except aiohttp.ClientConnectionError:
            reason = "unreachable"
        if attempt == attempts:
            raise FetchFailed(url, reason)
        if retry_after is not None:
            await asyncio.sleep(int(retry_after))  # "0" is a wait of 0, not "no header"
        else:
            await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


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
    result = Crawl()
    found = {start: 0}  # every URL found, and its depth: filled BEFORE the page is fetched
    semaphore = asyncio.Semaphore(limit)  # one per call
    done = 0

    async with aiohttp.ClientSession() as session:

        async def visit(url: str, depth: int, next_level: list[str]) -> None:
            nonlocal done
            async with semaphore:  # taken before the first request, held until the end
                try:
                    # shielded, so that a page half-fetched is not lost to a cancel
                    body = await asyncio.shield(fetch_page(session, url, attempts, base_delay))
                except FetchFailed as failed:
                    result.failures[url] = failed.reason  # the str, not the exception
                else:
                    result.pages[url] = depth
                    if depth < max_depth:
                        for link in links_in(body, url):
                            if link not in found:  # found at a lower level or this one
                                found[link] = depth + 1
                                next_level.append(link)
            done += 1
            if on_page is not None:
                on_page(url, done, len(found))

        async def levels() -> None:
            level, depth = [start], 0
            while level:  # every page at this depth is done before the next level starts
                next_level: list[str] = []
                await asyncio.gather(*(visit(url, depth, next_level) for url in level))
                level, depth = next_level, depth + 1

        try:
            async with asyncio.timeout(deadline) as limit_of_time:
                await levels()  # cancelled at the deadline: gather cancels and awaits its visits
        except TimeoutError:
            if not limit_of_time.expired():
                raise
    result.unfinished = set(found) - result.pages.keys() - result.failures.keys()
    return result
