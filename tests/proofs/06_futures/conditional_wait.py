"""Exercise 06, a correct answer written differently: one conditional expression for status, a
shared settle() helper, wait_for(timeout=None) with a finally cancel, and asyncio.wait over the
wrapped job with a cancel on CancelledError."""

import asyncio


def status(future):
    return (
        "pending"
        if not future.done()
        else "cancelled"
        if future.cancelled()
        else "failed"
        if future.exception()
        else "succeeded"
    )


def peek(future, default=None):
    if future.done():
        return future.result()
    return default


async def fetch(legacy_fetch, url):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def settle(setter, value):
        if fut.done():
            return
        setter(value)

    legacy_fetch(url, lambda p: settle(fut.set_result, p), lambda e: settle(fut.set_exception, e))
    try:
        return await asyncio.wait_for(fut, timeout=None)
    finally:
        fut.cancel()


async def wait_job(job):
    wrapped = asyncio.wrap_future(job)
    try:
        await asyncio.wait({wrapped})
    except asyncio.CancelledError:
        wrapped.cancel()
        raise
    return wrapped.result()
