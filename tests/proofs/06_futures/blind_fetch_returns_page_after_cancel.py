"""Exercise 06: futures (learner answer)."""

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
    box = loop.create_future()

    def on_done(page: str) -> None:
        if not box.done():
            box.set_result(page)

    def on_error(error: Exception) -> None:
        if not box.done():
            box.set_exception(error)

    legacy_fetch(url, on_done, on_error)
    waiter = asyncio.ensure_future(asyncio.shield(box))
    try:
        return await waiter
    except asyncio.CancelledError:
        if box.done() and not box.cancelled() and box.exception() is None:
            return box.result()  # we got it anyway, don't waste it
        box.cancel()
        raise


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
