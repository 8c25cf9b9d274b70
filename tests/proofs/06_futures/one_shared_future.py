"""Exercise 06, a wrong answer kept for the kit's own tests: fetch keeps its future in a module-
level variable, so a second call replaces the first call's future."""

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


_waiting = None


async def fetch(legacy_fetch, url: str) -> str:
    global _waiting
    _waiting = asyncio.get_running_loop().create_future()

    def on_done(page):
        if not _waiting.done():
            _waiting.set_result(page)

    def on_error(err):
        if not _waiting.done():
            _waiting.set_exception(err)

    legacy_fetch(url, on_done, on_error)
    return await _waiting


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
