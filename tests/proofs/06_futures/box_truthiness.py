"""Exercise 06, wrong: an Event and a box; a callback writes the box unless it already holds a
truthy page or an error."""

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
    arrived = asyncio.Event()
    box: dict[str, Any] = {}

    def on_done(page: str) -> None:
        if not box.get("page") and not box.get("error"):
            box["page"] = page
            arrived.set()

    def on_error(error: Exception) -> None:
        if not box.get("page") and not box.get("error"):
            box["error"] = error
            arrived.set()

    legacy_fetch(url, on_done, on_error)
    await arrived.wait()
    if box.get("error") is not None:
        raise box["error"]
    return box["page"]


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
