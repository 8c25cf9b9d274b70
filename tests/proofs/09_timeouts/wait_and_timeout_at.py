"""Exercise 09, a correct answer written differently: asyncio.wait for the price, timeout_at
with an absolute deadline for the download, wait_for around a helper that shields the commit."""

import asyncio


async def price_or_fallback(fetch_price, fallback, limit=2.0):
    task = asyncio.create_task(fetch_price())
    try:
        done, _ = await asyncio.wait({task}, timeout=limit)
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return fallback


async def download(read_chunk, budget, bonus):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    parts = []
    async with asyncio.timeout_at(deadline) as scope:
        while True:
            part = await read_chunk()
            if part == b"":
                break
            parts.append(part)
            deadline += bonus
            scope.reschedule(deadline)
    return b"".join(parts)


async def _build_then_commit(build, commit):
    order = await build()
    return await asyncio.shield(commit(order))


async def save_order(build, commit, limit):
    return await asyncio.wait_for(_build_then_commit(build, commit), timeout=limit)
