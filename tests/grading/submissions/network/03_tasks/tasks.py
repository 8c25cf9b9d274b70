"""Exercise 03, right, except that fetch_all first tries to reach a server outside the
sandbox (to fetch answers, or to send the tests out). If it gets through, it returns nothing
useful, so its tests fail; under --sandbox there is no network and they pass.

The grading suite rewrites TARGET with a non-loopback address of the grading machine itself,
where it listens and counts connections: the traffic never leaves the machine."""

import asyncio
from collections.abc import Awaitable, Callable

TARGET = ("127.0.0.1", 9)  # rewritten by tests/test_grading.py


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


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*TARGET), timeout=2)
    except (OSError, TimeoutError):
        return list(await asyncio.gather(*(fetch(url) for url in urls)))
    writer.write(b"hello from a submission\n")
    writer.close()
    return ["the network was reachable"]


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
