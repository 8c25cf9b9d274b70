"""Exercise 06, wrong (blind review): cancelled, fetch shields a fresh future and keeps waiting
for the late page."""

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
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    late = loop.create_future()

    def on_done(page: str) -> None:
        for f in (future, late):
            if not f.done():
                f.set_result(page)

    def on_error(error: Exception) -> None:
        for f in (future, late):
            if not f.done():
                f.set_exception(error)

    legacy_fetch(url, on_done, on_error)
    try:
        return await future
    except asyncio.CancelledError:
        return await late  # the download is already under way: wait for it anyway


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
