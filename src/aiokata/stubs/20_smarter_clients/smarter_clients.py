"""Exercise 20: smarter clients. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Callable

import aiohttp


async def download_limited(urls: list[str], limit: int) -> list[str]:
    """Task 1. Download every URL, at most `limit` at a time, through one session.

    Open one aiohttp.ClientSession for the whole call and GET each URL through it. At most
    `limit` requests (limit >= 1) are in flight at any moment: a request is in flight from
    the moment it is sent until its body has been read. Send them in the order of `urls`:
    the first `limit` at once, then each next one the moment a slot frees (no batches).
    Return a new list of the pages (`await response.text()`, every URL answers 200), in the
    order of `urls`.

    A URL listed twice is requested twice and its page appears twice; an empty page "" is a
    page; no URLs give []. `urls` is not changed. Each call has its own limit (nothing shared
    between calls), and no time limit: a request may take a day. Before you return, every
    response is released and the session closed. If the caller cancels it, the requests in
    flight are cancelled and have ended before the session closes, the ones not yet sent are
    never sent, and the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "make an asyncio.Semaphore(limit), then gather one helper per url that does "
        "`async with semaphore:` around the whole request, body included"
    )


async def get_with_retries(
    session: aiohttp.ClientSession, url: str, attempts: int, base_delay: float
) -> str:
    """Task 2. GET `url` through `session`, retrying what is worth retrying, with backoff.

    An answer with a status below 400 is a success: return its body as text, at once.
    An answer 429 (Too Many Requests) or 500 and above, or an aiohttp.ClientConnectionError
    (the server cannot be reached), is worth retrying. Any other status of 400 or more (400,
    401, 403, 404...) is not: raise aiohttp.ClientResponseError for it at once
    (`response.raise_for_status()` does that), without another request.

    Make at most `attempts` requests (attempts >= 1). After the k-th one fails in a way worth
    retrying, wait `base_delay * 2 ** (k - 1)` seconds (1, 2, 4, 8... for a base_delay of 1)
    from the moment its answer came, then send the next; but when that answer carries a
    `Retry-After` header (a whole number of seconds, in the tests), wait exactly that many
    seconds instead ("0": at once). When the last attempt fails, raise its error at once:
    the ClientResponseError of its status (`.status`), or its ClientConnectionError.

    Use the session you are given, and leave it open (it is the caller's); release every
    response, the failed ones too. No time limit of your own: waits may be long. If the
    caller cancels it (during a request or a wait), it stops at once, sends nothing more, and
    the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "loop over the attempts: return the text of a success, raise a 4xx but 429 at once, "
        "otherwise sleep (Retry-After, or base_delay * 2 ** (attempt - 1)) and try again"
    )


async def download_within(
    urls: list[str], limit: int, request_timeout: float, deadline: float
) -> list[str | None]:
    """Task 3. Download at most `limit` at a time, each request within `request_timeout`
    seconds, the whole batch within `deadline` seconds.

    As in download_limited(): one session, at most `limit` requests in flight, sent in the
    order of `urls`, each the moment a slot frees; every URL answers 200. Return a new list,
    in the order of `urls`, of each page (str), or None where no page came in time.

    Each request may take at most `request_timeout` seconds, counted from the moment it is
    sent (not while it waits for a slot) until its body has been read; one that takes longer
    is cancelled at that moment, its slot is free at once, and its entry is None. The whole
    call returns at the latest `deadline` seconds after it was called: then the requests
    still in flight are cancelled (None), the URLs not sent yet are never sent (None), and
    every page that came before is kept. If everything is done earlier, return then.
    (aiohttp's ClientTimeout does not work on the tests' mock web: use asyncio.timeout or
    asyncio.wait_for.) request_timeout and deadline are above 0 and may be very long.

    A page "" is a page, not None; a URL listed twice is requested twice; no URLs give [];
    `urls` is not changed. Before you return, every request has ended, every response is
    released and the session closed. If the caller cancels it, it ends cancelled (it does
    not return what it has), with nothing left running.
    """
    raise NotImplementedError(
        "as download_limited, with `async with asyncio.timeout(request_timeout):` inside the "
        "semaphore, and an asyncio.timeout(deadline) around the whole batch"
    )


async def download_with_progress(
    urls: list[str], limit: int, on_done: Callable[[str, int, int], object]
) -> list[str]:
    """Task 4. Download as download_limited(), reporting progress as each request completes.

    The same contract as download_limited(urls, limit), and: each time a request has
    completed (its body has been read), call `on_done(url, done, total)` at once, before
    anything else: `url` the entry as given, `done` the number of requests completed so far
    in this call (1, 2, ... in the order they complete), `total` the number of entries in
    `urls`. on_done is a plain function (call it, do not await it); it is called exactly
    once per entry, and every call has been made when download_with_progress() returns.
    No URLs: return [] without calling it.
    """
    raise NotImplementedError(
        "as download_limited, and right after each page has been read, count it and call "
        "on_done(url, done, len(urls))"
    )
