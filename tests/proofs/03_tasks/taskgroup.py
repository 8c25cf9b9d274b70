"""Exercise 03, a correct answer written differently: TaskGroup and explicit tasks."""

import asyncio
from collections.abc import Awaitable, Callable


async def make_breakfast(brew_coffee, toast_bread):
    coffee, toast = await asyncio.gather(brew_coffee(), toast_bread())
    return coffee, toast


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    async with asyncio.TaskGroup() as group:
        running = [group.create_task(fetch(url)) for url in urls]
    return [task.result() for task in running]


async def _capture(fetch, url):
    try:
        return True, await fetch(url)
    except Exception as exc:
        return False, exc


async def fetch_report(fetch, urls):
    pages, errors = {}, {}
    async with asyncio.TaskGroup() as group:
        running = {url: group.create_task(_capture(fetch, url)) for url in urls}
    for url, task in running.items():
        ok, value = task.result()
        (pages if ok else errors)[url] = value
    return pages, errors
