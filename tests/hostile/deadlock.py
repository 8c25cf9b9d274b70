# Waits for an event nobody will ever set.
async def fetch_all(fetch, urls):
    await asyncio.Event().wait()
