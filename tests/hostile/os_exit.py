# Ends the whole process from inside a function.
import os


async def fetch_all(fetch, urls):
    os._exit(0)
