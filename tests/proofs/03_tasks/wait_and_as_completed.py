"""Exercise 03, another right answer: asyncio.wait, as_completed by index, a catching helper,
with every task of its own cancelled on the way out."""

import asyncio
from collections.abc import Awaitable, Callable


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    toast_task = asyncio.create_task(toast_bread())
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        await asyncio.wait([toast_task, coffee_task])
    finally:
        for task in (toast_task, coffee_task):
            task.cancel()
    return coffee_task.result(), toast_task.result()


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    async def numbered(index: int, url: str) -> tuple[int, str]:
        return index, await fetch(url)

    pages: list[str] = [""] * len(urls)
    running = [asyncio.ensure_future(numbered(i, url)) for i, url in enumerate(urls)]
    try:
        for next_done in asyncio.as_completed(running):
            index, page = await next_done
            pages[index] = page
    finally:
        for task in running:
            task.cancel()
    return pages


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    pages: dict[str, str] = {}
    errors: dict[str, Exception] = {}

    async def one(url: str) -> None:
        try:
            pages[url] = await fetch(url)
        except Exception as exc:
            errors[url] = exc

    await asyncio.gather(*map(one, urls))
    return pages, errors
