"""Exercise 03, a correct answer written differently: start tasks, then await each in turn,
cancelling them all on the way out (a no-op for those already done)."""

import asyncio


async def make_breakfast(brew_coffee, toast_bread):
    toast_task = asyncio.create_task(toast_bread())
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        return (await coffee_task, await toast_task)
    finally:
        toast_task.cancel()
        coffee_task.cancel()


async def fetch_all(fetch, urls):
    running = [asyncio.ensure_future(fetch(url)) for url in urls]
    try:
        return [await task for task in running]
    finally:
        for task in running:
            task.cancel()


async def fetch_report(fetch, urls):
    running = [(url, asyncio.create_task(fetch(url))) for url in urls]
    try:
        if running:
            await asyncio.wait([task for _, task in running])
    finally:
        for _, task in running:
            task.cancel()
    pages = {u: t.result() for u, t in running if t.exception() is None}
    errors = {u: t.exception() for u, t in running if t.exception() is not None}
    return pages, errors
