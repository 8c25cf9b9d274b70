"""Exercise 06, a correct answer written differently: status with match, peek re-raising by hand,
fetch on an asyncio.Event (first call wins), wait_job running job.result in the default executor
and cancelling the job when cancelled."""

import asyncio
import concurrent.futures
from typing import Any


def status(future):
    match (future.done(), future.done() and future.cancelled()):
        case (False, _):
            return "pending"
        case (True, True):
            return "cancelled"
    return ("succeeded", "failed")[future.exception() is not None]


def peek(future, default=None):
    if not future.done():
        return default
    if future.cancelled():
        raise asyncio.CancelledError()
    if future.exception() is not None:
        raise future.exception()
    return future.result()


async def fetch(legacy_fetch, url):
    arrived = asyncio.Event()
    box = {}

    def settle(kind, value):
        if not arrived.is_set():
            box[kind] = value
            arrived.set()

    legacy_fetch(url, lambda p: settle("page", p), lambda e: settle("error", e))
    await arrived.wait()
    if "error" in box:
        raise box["error"]
    return box["page"]


async def wait_job(job: concurrent.futures.Future) -> Any:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(None, job.result)
    except asyncio.CancelledError:
        job.cancel()
        raise
