# A blocking sleep on the event loop's thread.
import time


async def fetch_all(fetch, urls):
    time.sleep(1)
    return [await fetch(url) for url in urls]
