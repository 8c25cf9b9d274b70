"""Exercise 09, a correct answer written differently: asyncio.timeout for the price, a
deadline kept by hand for the download, and an explicit commit task under shield."""

import asyncio

_background: set[asyncio.Task] = set()


async def price_or_fallback(fetch_price, fallback, limit=2.0):
    try:
        async with asyncio.timeout(limit):
            price = await fetch_price()
    except TimeoutError:
        price = fallback
    return price


async def download(read_chunk, budget, bonus):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    data = bytearray()
    while True:
        chunk = await asyncio.wait_for(read_chunk(), deadline - loop.time())
        if not chunk:
            return bytes(data)
        data += chunk
        deadline += bonus


async def save_order(build, commit, limit):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    order = await asyncio.wait_for(build(), limit)
    committing = asyncio.create_task(commit(order))
    _background.add(committing)  # keep a reference while it runs on its own
    committing.add_done_callback(_background.discard)
    return await asyncio.wait_for(asyncio.shield(committing), deadline - loop.time())
