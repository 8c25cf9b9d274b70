# Catches every cancellation and carries on.
async def fetch_all(fetch, urls):
    while True:
        try:
            await asyncio.sleep(1)
        except BaseException:
            pass
