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
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        digests = []
        for blob in blobs:
            digest = loop.create_future()
            job = pool.submit(work, blob, rounds=rounds)
            job.add_done_callback(lambda done, digest=digest: digest.set_result(done.result()))
            digests.append(digest)
        return list(await asyncio.gather(*digests))
