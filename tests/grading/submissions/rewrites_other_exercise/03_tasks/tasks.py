"""Exercise 03: tasks and gather. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    """Task 1. Brew the coffee and toast the bread at the same time.

    Call each function once and return `(coffee, toast)`: the values they return. Start the
    coffee as a task so it brews while you wait for the toast; the whole breakfast must take
    as long as the slower of the two, not their sum.
    """
    raise NotImplementedError(
        "start brew_coffee() as a task, await toast_bread(), then await the task"
    )


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    """Task 2. Fetch every URL at the same time and return the pages.

    `await fetch(url)` returns one page. Return the list of pages in the order of `urls` (not
    the order the downloads finished). The whole call must take as long as the slowest single
    fetch. Fetch each URL exactly once; an empty list gives an empty list.
    """
    raise NotImplementedError("run fetch(url) for every url at once with asyncio.gather")


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    """Task 3. Fetch every URL at the same time, keeping failures apart from pages.

    Return `(pages, errors)`: `pages` maps each URL whose fetch succeeded to its page, `errors`
    maps each URL whose fetch raised an exception to that exception object. One failure must
    not cancel or lose the others, and the call takes as long as the slowest fetch.
    """
    raise NotImplementedError(
        "gather the fetches with return_exceptions=True and sort results from errors"
    )
