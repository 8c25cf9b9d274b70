"""Exercise 06, wrong: fetch keeps one future per url in a module-level dict: a second fetch of the
same url joins the first."""

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


_downloads: dict[str, asyncio.Future] = {}


async def fetch(legacy_fetch: LegacyFetch, url: str) -> str:
    if url in _downloads and not _downloads[url].done():
        return await asyncio.shield(_downloads[url])
    future = asyncio.get_running_loop().create_future()
    _downloads[url] = future

    def on_done(page: str) -> None:
        if not future.done():
            future.set_result(page)

    def on_error(error: Exception) -> None:
        if not future.done():
            future.set_exception(error)

    legacy_fetch(url, on_done, on_error)
    return await future


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
