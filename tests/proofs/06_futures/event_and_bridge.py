"""Exercise 06, a correct answer written differently: an Event for the callback API and a
hand-made bridge from the thread pool's future (add_done_callback + call_soon_threadsafe)."""

import asyncio
import concurrent.futures


def status(future: asyncio.Future) -> str:
    match (future.done(), future.cancelled()):
        case (False, _):
            return "pending"
        case (True, True):
            return "cancelled"
    return "failed" if future.exception() else "succeeded"


def peek(future: asyncio.Future, default=None):
    if future.done():
        return future.result()
    return default


async def fetch(legacy_fetch, url: str) -> str:
    arrived = asyncio.Event()
    outcome: list[tuple[str, object]] = []

    def recorder(kind: str):
        def callback(value) -> None:
            if not outcome:
                outcome.append((kind, value))
                arrived.set()

        return callback

    legacy_fetch(url, recorder("page"), recorder("error"))
    await arrived.wait()
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value


async def wait_job(job: concurrent.futures.Future):
    loop = asyncio.get_running_loop()
    mirror = loop.create_future()

    def copy(finished: concurrent.futures.Future) -> None:
        if mirror.done():
            return
        if finished.cancelled():
            mirror.cancel()
        elif finished.exception() is not None:
            mirror.set_exception(finished.exception())
        else:
            mirror.set_result(finished.result())

    job.add_done_callback(lambda finished: loop.call_soon_threadsafe(copy, finished))
    try:
        return await mirror
    except asyncio.CancelledError:
        job.cancel()
        raise
