# Calls the coroutine function without awaiting it.
async def fetch_all(fetch, urls):
    pages = []
    for url in urls:
        fetch(url)
    return pages
