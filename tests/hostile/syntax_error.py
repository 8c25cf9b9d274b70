# A syntax error.
async def fetch_all(fetch, urls:
    return []
