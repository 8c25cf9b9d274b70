"""Exercise 03: right answers, but each task leaves something open that the kit's hygiene
checks must name: make_breakfast a thread that never stops, fetch_all an executor never shut
down and an aiohttp session never closed, fetch_report a server still listening and a
connection never closed."""

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import aiohttp

_stop = threading.Event()


def _watch() -> None:
    while not _stop.wait(0.05):
        pass


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    threading.Thread(target=_watch, daemon=True).start()
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        toast = await toast_bread()
        return await coffee_task, toast
    finally:
        coffee_task.cancel()


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    pool = ThreadPoolExecutor(max_workers=1)
    await asyncio.get_running_loop().run_in_executor(pool, len, urls)
    session = aiohttp.ClientSession()
    assert not session.closed
    return list(await asyncio.gather(*(fetch(url) for url in urls)))


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    server = await asyncio.start_server(_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, _writer = await asyncio.open_connection("127.0.0.1", port)
    await reader.read()
    results = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    pages: dict[str, str] = {}
    errors: dict[str, Exception] = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, Exception):
            errors[url] = result
        else:
            pages[url] = result
    return pages, errors
