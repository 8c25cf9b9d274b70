"""Exercise 26: the capstone, a crawler. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
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


# Yours to write.


async def fetch_page(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    """Task 1. GET `url` through `session` and return its body as text, retrying what is
    worth retrying.

    An answer below 400 (200, 201, 204...) is a success: return `await response.text()` at
    once. An answer 429 or 500 and above (501, 505 too), or an aiohttp.ClientConnectionError
    (unreachable), is worth retrying;
    any other 400 or more (404, 403, 410...) is not: raise FetchFailed(url, "404") at once.
    Make at most `attempts` requests (attempts >= 1). After the k-th fails in a way worth
    retrying, wait `base_delay * 2 ** (k - 1)` seconds from the moment its answer came (or
    the connection error was raised; 1, 2, 4... for a base_delay of 1), or, when the answer
    has a Retry-After header (a whole number of seconds, on a 429 or a 5xx alike), exactly
    that many ("0": at once); then send the next. Each call counts its own attempts. When the last
    attempt fails, raise FetchFailed at once, its reason the last status ("503") or
    "unreachable".

    Use the session you are given and leave it open; release every response (`async with
    session.get(url) as response:`). No time limit of your own: a wait may take an hour.
    If the caller cancels it, it stops at once and the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "loop over the attempts: return the text below 400, raise FetchFailed for a 4xx but "
        "429, otherwise sleep (Retry-After, or base_delay * 2 ** (attempt - 1)) and retry"
    )


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
    """Tasks 2, 3 and 4. Crawl the site from `start`, level by level, and return a Crawl.

    Task 2. Open one aiohttp.ClientSession for the whole crawl and fetch each page with
    fetch_page(session, url, attempts, base_delay). The start page is at depth 0; the links
    on a page at depth d (`links_in(body, url)`) are at depth d + 1; a page's depth is the
    fewest links from the start page. Fetch every page at depth <= max_depth exactly once
    (cycles, self-links and repeated links included), and no other. The crawl goes level by
    level: every page at depth d is done (fetched or failed) before any page at depth d + 1
    is requested. Within a level, at most `limit` pages (limit >= 1) are being fetched at
    once (a page is being fetched from its first request until fetch_page() returns or
    raises), and a new one starts the moment one ends: no batches. A page that fails
    (FetchFailed) goes into `failures` with its reason, has no links, and stops nothing
    else. Return a new Crawl with every page and every failure. Before crawl() returns or
    raises, every request it started has ended and its session is closed. Nothing is kept
    between calls.

    Task 3. `deadline` (seconds, > 0, or None for none): when that much loop time has
    passed since the call, cancel every fetch still running, wait for them to end, and
    return at once, with the pages and failures done before it and, in `unfinished`, every
    URL found (start, or a link on a page done, at depth <= max_depth) but not done. No
    request is sent from then on. If the caller cancels crawl(), it does the same clean-up
    and ends cancelled: the CancelledError reaches the caller.

    Task 4. `on_page(url, done, found)`, if given, is called (a plain function: no await)
    the moment each page is done, fetched or failed, once its new links (at depth <=
    max_depth) have been found: `done` counts the pages done so far in this call, `found`
    the URLs found so far (the start page included).
    """
    raise NotImplementedError(
        "keep `depth = {start: 0}` and a level list; for each level, fetch its pages with at "
        "most `limit` at a time (a Semaphore), adding each new link to the next level"
    )
