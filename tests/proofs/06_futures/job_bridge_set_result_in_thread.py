"""Exercise 06, wrong: a hand-made bridge whose done-callback settles the asyncio future from the
pool's thread."""

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
    future = asyncio.get_running_loop().create_future()

    def copy(finished: concurrent.futures.Future) -> None:
        if future.done():
            return
        if finished.cancelled():
            future.cancel()
        elif finished.exception() is not None:
            future.set_exception(finished.exception())
        else:
            future.set_result(finished.result())

    job.add_done_callback(copy)
    try:
        return await future
    except asyncio.CancelledError:
        job.cancel()
        raise
