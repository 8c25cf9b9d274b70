"""Exercise 06, a wrong answer kept for the kit's own tests: an Event and a box that every callback
overwrites, so when two callbacks come in the same instant the last one wins."""

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
    arrived = asyncio.Event()
    box = {}

    def on_done(page):
        box["outcome"] = ("page", page)
        arrived.set()

    def on_error(err):
        box["outcome"] = ("error", err)
        arrived.set()

    legacy_fetch(url, on_done, on_error)
    await arrived.wait()
    kind, value = box["outcome"]
    if kind == "error":
        raise value
    return value


async def wait_job(job: concurrent.futures.Future) -> Any:
    return await asyncio.wrap_future(job)
