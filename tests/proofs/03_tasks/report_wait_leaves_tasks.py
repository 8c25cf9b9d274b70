"""Exercise 03, wrong: asyncio.wait over its tasks, which it leaves running when cancelled."""

import asyncio
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


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    return list(await asyncio.gather(*(fetch(url) for url in urls)))


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    running = [(url, asyncio.create_task(fetch(url))) for url in urls]
    if running:
        await asyncio.wait([task for _, task in running])
    pages = {url: t.result() for url, t in running if t.exception() is None}
    errors = {url: t.exception() for url, t in running if t.exception() is not None}
    return pages, errors
