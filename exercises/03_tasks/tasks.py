"""Exercise 03: tasks and gather. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    """Task 1. Brew the coffee and toast the bread at the same time.

    Call each function exactly once and return the tuple `(coffee, toast)` (a tuple, not a
    list): the values they return, whatever they are ("" is a value too). Start the coffee
    as a task so it brews while you wait for the toast; the whole breakfast must take as long
    as the slower of the two, not their sum, however long that is (set no time limit).

    If the caller cancels make_breakfast() while it waits, nothing may go on brewing or
    toasting: cancel the coffee task too, and let the CancelledError reach the caller.
    """
    raise NotImplementedError(
        "start brew_coffee() as a task, await toast_bread(), then await the task"
    )


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    """Task 2. Fetch every URL at the same time and return the pages.

    `await fetch(url)` returns one page. Call fetch(url) exactly once per entry of `urls`,
    all at once (a URL listed twice is fetched twice, and its page appears twice). Return a
    new list of the pages in the order of `urls` (not the order the downloads finished);
    every page counts, even an empty one. An empty list gives an empty list. Does not
    change `urls`; pass each URL to fetch exactly as given. The whole call takes as long as
    the slowest single fetch, however long that is (set no time limit, and no limit on how
    many fetches run at once).

    If the caller cancels fetch_all() while it waits, every fetch still running is
    cancelled too, and the CancelledError reaches the caller (asyncio.gather does both).
    """
    raise NotImplementedError("run fetch(url) for every url at once with asyncio.gather")


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    """Task 3. Fetch every URL at the same time, keeping failures apart from pages.

    Return the tuple `(pages, errors)` of two dicts: `pages` maps each URL whose fetch
    succeeded to its page (even an empty one), `errors` maps each URL whose fetch raised an
    exception to that exception object itself. Like fetch_all: fetch(url) is called exactly
    once per entry of `urls`, all at once (a failed fetch is not retried; a URL listed twice
    is fetched twice and has one entry); no URLs give `({}, {})`; `urls` is not changed.
    Key each result by its URL exactly as given: "A", "a" and " a" are three URLs.
    One failure must not cancel or lose the others, and the call takes as long as the
    slowest fetch, however long that is (set no time limit).

    If the caller cancels fetch_report() while it waits, every fetch still running is
    cancelled too, and the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "gather the fetches with return_exceptions=True and sort results from errors"
    )
