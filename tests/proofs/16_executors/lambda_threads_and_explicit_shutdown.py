import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


async def download(get: Callable[..., bytes], url: str, *, timeout: float | None) -> bytes:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: get(url, timeout=timeout))


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: float | None
) -> list[bytes]:
    loop = asyncio.get_running_loop()
    futures = []
    for url in urls:
        futures.append(loop.run_in_executor(None, lambda u=url: get(u, timeout=timeout)))
    results = await asyncio.gather(*futures)
    return [page for page in results]


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor()
    try:
        jobs = []
        for blob in blobs:
            jobs.append(loop.run_in_executor(pool, functools.partial(work, blob, rounds=rounds)))
        digests = await asyncio.gather(*jobs)
    finally:
        pool.shutdown(wait=True)
    return list(digests)
