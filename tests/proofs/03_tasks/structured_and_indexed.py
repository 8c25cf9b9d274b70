"""Exercise 03, another right answer: a TaskGroup for breakfast, pages written into their own
slots, and a report built from tasks gathered with return_exceptions into dict subclasses."""

import asyncio
from collections import OrderedDict


async def make_breakfast(brew_coffee, toast_bread):
    async with asyncio.TaskGroup() as group:
        coffee = group.create_task(brew_coffee())
        toast = group.create_task(toast_bread())
    return coffee.result(), toast.result()


async def fetch_all(fetch, urls):
    pages = [None] * len(urls)

    async def into_slot(index, url):
        pages[index] = await fetch(url)

    await asyncio.gather(*(into_slot(i, url) for i, url in enumerate(urls)))
    return pages


async def fetch_report(fetch, urls):
    loop = asyncio.get_running_loop()
    running = [loop.create_task(fetch(url)) for url in urls]
    outcomes = await asyncio.gather(*running, return_exceptions=True)
    pages, errors = OrderedDict(), OrderedDict()
    for url, outcome in zip(urls, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            errors[url] = outcome
        else:
            pages[url] = outcome
    return pages, errors
