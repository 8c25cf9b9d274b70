"""Exercise 06, a wrong answer kept for the kit's own tests: the callbacks schedule
future.set_result / set_exception with loop.call_soon, unguarded: a late call fails inside the
loop."""

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
    return future.result() if future.done() else default


async def fetch(legacy_fetch, url: str) -> str:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    legacy_fetch(
        url,
        lambda page: loop.call_soon(fut.set_result, page),
        lambda err: loop.call_soon(fut.set_exception, err),
    )
    return await fut


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
