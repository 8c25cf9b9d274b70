import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


async def download(get: Callable[..., bytes], url: str, *, timeout: float | None) -> bytes:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(get, url, timeout=timeout))


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: float | None
) -> list[bytes]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(asyncio.to_thread(get, url, timeout=timeout)) for url in urls]
    return [task.result() for task in tasks]


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    pool = ProcessPoolExecutor()
    try:
        futures = [asyncio.wrap_future(pool.submit(work, blob, rounds=rounds)) for blob in blobs]
        return [await future for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
