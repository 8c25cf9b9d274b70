"""Exercise 09, right: return from inside asyncio.timeout, a bytearray turned into bytes, and
asyncio.wait (which never cancels what it waits for) instead of shield for the commit."""

import asyncio

_saving: set[asyncio.Task] = set()  # commits still running in the background


async def price_or_fallback(fetch_price, fallback, limit=2.0):
    try:
        async with asyncio.timeout(limit):
            return await fetch_price()
    except TimeoutError:
        return fallback


async def download(read_chunk, budget, bonus):
    buffer = bytearray()
    async with asyncio.timeout(budget) as cm:
        while True:
            chunk = await read_chunk()
            if chunk == b"":
                return bytes(buffer)
            buffer.extend(chunk)
            cm.reschedule(cm.when() + bonus)


async def save_order(build, commit, limit):
    async with asyncio.timeout(limit):
        order = await build()
        saving = asyncio.create_task(commit(order))
        _saving.add(saving)
        saving.add_done_callback(_saving.discard)
        await asyncio.wait([saving])
        return saving.result()
