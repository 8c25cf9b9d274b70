"""Exercise 06, a correct answer written differently: ask for forgiveness, asyncio.Future()."""

import asyncio
import contextlib


def status(future):
    try:
        error = future.exception()
    except asyncio.CancelledError:
        return "cancelled"
    except asyncio.InvalidStateError:
        return "pending"
    return "succeeded" if error is None else "failed"


def peek(future, default=None):
    try:
        return future.result()
    except asyncio.InvalidStateError:
        return default


async def fetch(legacy_fetch, url):
    future = asyncio.Future()

    def settle(method, value):
        with contextlib.suppress(asyncio.InvalidStateError):
            method(value)

    legacy_fetch(
        url,
        lambda page: settle(future.set_result, page),
        lambda error: settle(future.set_exception, error),
    )
    return await future


async def wait_job(job):
    return await asyncio.wait_for(asyncio.wrap_future(job), timeout=None)
