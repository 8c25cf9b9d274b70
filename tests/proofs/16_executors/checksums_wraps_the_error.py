import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor


async def download(get: Callable[..., bytes], url: str, *, timeout: float | None) -> bytes:
    return await asyncio.to_thread(get, url, timeout=timeout)


async def download_all(
    get: Callable[..., bytes], urls: list[str], *, timeout: float | None
) -> list[bytes]:
    return list(await asyncio.gather(*(download(get, url, timeout=timeout) for url in urls)))


async def checksums(work: Callable[..., str], blobs: list[bytes], *, rounds: int) -> list[str]:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        futs = [
            loop.run_in_executor(pool, functools.partial(work, b, rounds=rounds)) for b in blobs
        ]
        try:
            return list(await asyncio.gather(*futs))
        except Exception as exc:
            raise RuntimeError("hashing failed") from exc
