"""Exercise 09, right: a call_later timer that cancels the call, timeout(None) rescheduled,
asyncio.wait on a commit task.
"""

import asyncio
from collections.abc import Awaitable, Callable


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(fetch_price())
    timed_out = False

    def expire() -> None:
        nonlocal timed_out
        if not task.done():
            timed_out = True
            task.cancel()

    handle = loop.call_later(limit, expire)
    try:
        return await task
    except asyncio.CancelledError:
        if timed_out and task.cancelled() and asyncio.current_task().cancelling() == 0:
            return fallback
        raise
    finally:
        handle.cancel()


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    loop = asyncio.get_running_loop()
    data = bytearray()
    async with asyncio.timeout(None) as cm:
        cm.reschedule(loop.time() + budget)
        while True:
            chunk = await read_chunk()
            if not chunk:
                break
            data += chunk
            cm.reschedule(cm.when() + bonus)
    return bytes(data)


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    order = await asyncio.wait_for(build(), limit)
    saving = asyncio.create_task(commit(order))
    done, _ = await asyncio.wait({saving}, timeout=deadline - loop.time())
    if not done:
        raise TimeoutError
    return saving.result()
