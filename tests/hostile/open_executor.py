# Right pages, but makes a thread pool for one call and never shuts it down.
async def fetch_all(fetch, urls):
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    await asyncio.get_running_loop().run_in_executor(pool, len, urls)
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
