# Right pages, but leaves a process behind in a session of its own (killing the test's
# process group misses it), double-forked so that nothing is left to wait for it.
async def fetch_all(fetch, urls):
    import os

    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["/bin/sleep", "60"])
        os._exit(0)
    os.wait()
    return list(await asyncio.gather(*(fetch(url) for url in urls)))
