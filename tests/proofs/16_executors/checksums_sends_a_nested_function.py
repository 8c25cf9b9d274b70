import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


async def download(get: Callable[..., bytes], url: str, *, timeout: float | None) -> bytes:
    return await asyncio.to_thread(get, url, timeout=timeout)


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: float | None
) -> list[bytes]:
    loop = asyncio.get_running_loop()
    jobs = [
        loop.run_in_executor(None, functools.partial(get, url, timeout=timeout)) for url in urls
    ]
    return list(await asyncio.gather(*jobs))


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    def job(blob: bytes) -> str:
        return work(blob, rounds=rounds)

    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        return list(await asyncio.gather(*(loop.run_in_executor(pool, job, b) for b in blobs)))
