"""Exercise 06, wrong: wait_job gives the job at most an hour, to be safe."""

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

LegacyFetch = Callable[[str, Callable[[str], None], Callable[[Exception], None]], None]


def status(future: asyncio.Future) -> str:
    if not future.done():
        return "pending"
    if future.cancelled():
        return "cancelled"
    if future.exception() is not None:
        return "failed"
    return "succeeded"


def peek(future: asyncio.Future, default: Any = None) -> Any:
    if not future.done():
        return default
    return future.result()


async def fetch(legacy_fetch: LegacyFetch, url: str) -> str:
    future = asyncio.get_running_loop().create_future()

    def on_done(page: str) -> None:
        if not future.done():
            future.set_result(page)

    def on_error(error: Exception) -> None:
        if not future.done():
            future.set_exception(error)

    legacy_fetch(url, on_done, on_error)
    return await future


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wait_for(asyncio.wrap_future(job), timeout=3600)
