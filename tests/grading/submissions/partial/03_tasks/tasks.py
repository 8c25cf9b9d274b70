"""Exercise 03, half done: task 1 runs the jobs one after another, task 2 right, task 3 lets
one failure sink the whole report."""

import asyncio
from collections.abc import Awaitable, Callable


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    # Wrong on purpose: right values, but the toast waits for the coffee.
    coffee = await brew_coffee()
    toast = await toast_bread()
    return coffee, toast


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    return list(await asyncio.gather(*[fetch(url) for url in urls]))


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    # Wrong on purpose: without return_exceptions the first failure raises out of gather.
    pages = await asyncio.gather(*[fetch(url) for url in urls])
    return dict(zip(urls, pages, strict=True)), {}
