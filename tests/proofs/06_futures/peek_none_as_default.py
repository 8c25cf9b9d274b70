"""Exercise 06, a wrong answer kept for the kit's own tests: peek returns the default whenever the
result is None."""

import asyncio
import concurrent.futures
from typing import Any


def status(future: asyncio.Future) -> str:
    if not future.done():
        return "pending"
    if future.cancelled():
        return "cancelled"
    return "failed" if future.exception() is not None else "succeeded"


def peek(future: asyncio.Future, default: Any = None) -> Any:
    result = future.result() if future.done() else None
    return default if result is None else result


async def fetch(legacy_fetch, url: str) -> str:
    fut = asyncio.get_running_loop().create_future()

    def on_done(page):
        if not fut.done():
            fut.set_result(page)

    def on_error(err):
        if not fut.done():
            fut.set_exception(err)

    legacy_fetch(url, on_done, on_error)
    return await fut


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
