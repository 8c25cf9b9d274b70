import asyncio
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


async def download(get: Callable[..., bytes], url: str, *, timeout: float | None) -> bytes:
    return await asyncio.to_thread(get, url, timeout=timeout)


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: float | None
) -> list[bytes]:
    return list(await asyncio.gather(*(download(get, url, timeout=timeout) for url in urls)))


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    with ProcessPoolExecutor() as pool:
        futures = [asyncio.wrap_future(pool.submit(work, blob, rounds=rounds)) for blob in blobs]
        digests = await asyncio.gather(*futures)
    return digests
