"""Exercise 16, reference solution."""

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

Timeout = float | tuple[float, float] | None


async def download(get: Callable[..., bytes], url: str, *, timeout: Timeout) -> bytes:
    return await asyncio.to_thread(get, url, timeout=timeout)


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: Timeout
) -> list[bytes]:
    loop = asyncio.get_running_loop()
    jobs = [
        loop.run_in_executor(None, functools.partial(get, url, timeout=timeout)) for url in urls
    ]
    return list(await asyncio.gather(*jobs))


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        jobs = [
            loop.run_in_executor(pool, functools.partial(work, blob, rounds=rounds))
            for blob in blobs
        ]
        return list(await asyncio.gather(*jobs))
