# Starts a task and returns without awaiting or cancelling it.
async def fetch_all(fetch, urls):
    asyncio.create_task(asyncio.sleep(100))
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
