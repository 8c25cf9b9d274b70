# Right pages, but a thread it starts (and joins) dies with an exception nobody catches.
async def fetch_all(fetch, urls):
    import threading

    def count():
        raise ValueError("bad count")

    thread = threading.Thread(target=count, name="counter")
    thread.start()
    thread.join()
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
