"""Exercise 03, a correct answer written differently: start tasks, then await each in turn."""

import asyncio


async def make_breakfast(brew_coffee, toast_bread):
    toast_task = asyncio.create_task(toast_bread())
    coffee_task = asyncio.create_task(brew_coffee())
    return [await coffee_task, await toast_task]


async def fetch_all(fetch, urls):
    running = [asyncio.ensure_future(fetch(url)) for url in urls]
    return [await task for task in running]


async def fetch_report(fetch, urls):
    running = {url: asyncio.create_task(fetch(url)) for url in urls}
    await asyncio.wait(running.values()) if running else None
    pages = {u: t.result() for u, t in running.items() if t.exception() is None}
    errors = {u: t.exception() for u, t in running.items() if t.exception() is not None}
    return pages, errors
