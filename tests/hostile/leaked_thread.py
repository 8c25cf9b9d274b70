# Right pages, but starts a thread that never stops (a daemon, so the process can still exit).
async def fetch_all(fetch, urls):
    import threading

    stop = threading.Event()

    def spin():
        while not stop.wait(0.01):
            pass

    threading.Thread(target=spin, daemon=True).start()
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
