import asyncio
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def _hash_one(work, blob, rounds):
    """A top-level function: pickle sends it to the pool's processes by name."""
    return work(blob, rounds=rounds)


async def download(get, url, *, timeout):
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return await loop.run_in_executor(pool, lambda: get(url, timeout=timeout))
    finally:
        pool.shutdown(wait=False)  # do not wait for a thread we no longer need


async def download_all(get, urls, *, timeout):
    if not urls:
        return []
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=len(urls))
    try:
        futures = {}
        for index, url in enumerate(urls):
            futures[index] = loop.run_in_executor(pool, lambda u=url: get(u, timeout=timeout))
        pages = [None] * len(urls)
        for index, future in futures.items():
            pages[index] = await future
        return pages
    finally:
        for future in futures.values():
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)


async def checksums(work, blobs, *, rounds):
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [loop.run_in_executor(pool, _hash_one, work, blob, rounds) for blob in blobs]
        done = await asyncio.gather(*futures)
    return list(done)
