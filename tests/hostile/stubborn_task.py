# Leaves a task behind that ignores its cancellation.
async def _stubborn():
    while True:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            pass


async def fetch_all(fetch, urls):
    asyncio.create_task(_stubborn())
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
