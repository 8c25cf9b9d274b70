"""Exercise 06, wrong: fetch waits in a helper task behind asyncio.shield, 'so a late callback
finds its future alive': cancelled, the helper keeps running."""

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

    async def wait_for_answer() -> str:
        return await future

    helper = asyncio.create_task(wait_for_answer())
    return await asyncio.shield(helper)


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
