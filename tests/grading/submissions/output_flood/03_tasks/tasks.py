"""Exercise 03: right answers, but fetch_all prints megabytes of debug."""

import asyncio
import sys
from collections.abc import Awaitable, Callable


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        toast = await toast_bread()
        return await coffee_task, toast
    finally:
        coffee_task.cancel()  # does nothing once the coffee is ready; stops it if we are cancelled


_flooded = []


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    if not _flooded:  # once per test's process (a scenario test calls it many times)
        _flooded.append(True)
        line = "debug: fetching " + "x" * 1000
        for _ in range(8_000):  # about 8 MB on stdout
            print(line)
        sys.stderr.write("warning: " + "y" * 2_000_000 + "\n")  # and 2 MB on stderr
    return list(await asyncio.gather(*(fetch(url) for url in urls)))


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    results = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    pages: dict[str, str] = {}
    errors: dict[str, Exception] = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, Exception):
            errors[url] = result
        else:
            pages[url] = result
    return pages, errors
