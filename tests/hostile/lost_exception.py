# A task fails and nobody ever looks at its exception.
async def fetch_all(fetch, urls):
    async def boom():
        raise ValueError("lost in a background task")

    asyncio.create_task(boom())
    await asyncio.sleep(0)
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
