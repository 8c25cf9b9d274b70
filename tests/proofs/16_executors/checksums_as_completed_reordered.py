import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


async def download(get: Callable[..., bytes], url: str, *, timeout: float | None) -> bytes:
    return await asyncio.to_thread(get, url, timeout=timeout)


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: float | None
) -> list[bytes]:
    jobs = [asyncio.to_thread(get, url, timeout=timeout) for url in urls]
    return [*await asyncio.gather(*jobs)]


async def _tagged(i, fut):
    return i, await fut


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    loop = asyncio.get_running_loop()
    digests = [""] * len(blobs)
    with ProcessPoolExecutor() as pool:
        futs = [
            loop.run_in_executor(pool, functools.partial(work, b, rounds=rounds)) for b in blobs
        ]
        tasks = [asyncio.create_task(_tagged(i, f)) for i, f in enumerate(futs)]
        try:
            for nxt in asyncio.as_completed(tasks):
                i, digest = await nxt
                digests[i] = digest
        finally:
            for t in tasks:
                t.cancel()
    return digests
