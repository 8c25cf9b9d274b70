"""Exercise 06, a correct answer written differently: status from a table, fetch settling a
concurrent.futures.Future wrapped with wrap_future, wait_job on asyncio.to_thread(job.result)
with a cancel."""

import asyncio
import concurrent.futures


def status(future):
    states = {(False, False): "pending", (True, True): "cancelled"}
    key = (future.done(), future.cancelled())
    if key in states:
        return states[key]
    return "succeeded" if future.exception() is None else "failed"


def peek(future, default=None):
    return default if not future.done() else future.result()


async def fetch(legacy_fetch, url):
    box = concurrent.futures.Future()

    def on_done(page):
        if not box.done():
            box.set_result(page)

    def on_error(error):
        if not box.done():
            box.set_exception(error)

    legacy_fetch(url, on_done, on_error)
    return await asyncio.wrap_future(box)


async def wait_job(job):
    try:
        return await asyncio.to_thread(job.result)
    except asyncio.CancelledError:
        job.cancel()
        raise
