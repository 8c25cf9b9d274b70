"""Exercise 06, a correct answer written differently: status and peek ask forgiveness, a small
class holds asyncio.Future() and its callbacks (InvalidStateError suppressed), extra sleep(0)s
in fetch, and a hand-made thread-safe bridge for wait_job."""

import asyncio
import concurrent.futures
import contextlib
from typing import Any


def status(future):
    try:
        exc = future.exception()
    except asyncio.CancelledError:
        return "cancelled"
    except asyncio.InvalidStateError:
        return "pending"
    return "succeeded" if exc is None else "failed"


def peek(future, default=None):
    try:
        return future.result()
    except asyncio.InvalidStateError:
        return default


class _Bridge:
    def __init__(self):
        self.future = asyncio.Future()

    def on_done(self, page):
        with contextlib.suppress(asyncio.InvalidStateError):
            self.future.set_result(page)

    def on_error(self, error):
        with contextlib.suppress(asyncio.InvalidStateError):
            self.future.set_exception(error)


async def fetch(legacy_fetch, url):
    bridge = _Bridge()
    legacy_fetch(url, bridge.on_done, bridge.on_error)
    await asyncio.sleep(0)
    page = await bridge.future
    await asyncio.sleep(0)
    return page


async def wait_job(job: concurrent.futures.Future) -> Any:
    loop = asyncio.get_running_loop()
    mine = loop.create_future()

    def copy(_):
        if mine.done():
            return
        if job.cancelled():
            mine.cancel()
        elif job.exception() is not None:
            mine.set_exception(job.exception())
        else:
            mine.set_result(job.result())

    job.add_done_callback(lambda j: loop.call_soon_threadsafe(copy, j))
    try:
        return await mine
    except asyncio.CancelledError:
        job.cancel()
        raise
