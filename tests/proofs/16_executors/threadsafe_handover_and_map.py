import asyncio
import functools
import threading
from concurrent.futures import ProcessPoolExecutor


async def download(get, url, *, timeout):
    """A thread of its own, handing the page back with call_soon_threadsafe."""
    loop = asyncio.get_running_loop()
    page = loop.create_future()

    def settle(outcome, failed):
        if page.done():  # cancelled meanwhile
            return
        if failed:
            page.set_exception(outcome)
        else:
            page.set_result(outcome)

    def fetch():
        try:
            outcome, failed = get(url, timeout=timeout), False
        except Exception as exc:
            outcome, failed = exc, True
        try:
            loop.call_soon_threadsafe(settle, outcome, failed)
        except RuntimeError:  # the loop has closed: nobody waits for the page any more
            pass

    threading.Thread(target=fetch, daemon=True).start()
    return await page


async def download_all(get, urls, *, timeout):
    return list(await asyncio.gather(*(download(get, url, timeout=timeout) for url in urls)))


async def checksums(work, blobs, *, rounds):
    """pool.map hands every job in at once; a worker thread reads its results in order."""
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor() as pool:
        results = pool.map(functools.partial(work, rounds=rounds), blobs)
        return await loop.run_in_executor(None, list, results)
