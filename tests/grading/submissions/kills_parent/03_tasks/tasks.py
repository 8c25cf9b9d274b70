"""Exercise 03: fetch_all kills the process that runs it, six times (counted in a file in
$HOME, the grading's own scratch folder), then only raises: six fresh workers, and the
other tasks' tests all run."""

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        toast = await toast_bread()
        return await coffee_task, toast
    finally:
        coffee_task.cancel()  # does nothing once the coffee is ready; stops it if we are cancelled


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    count = os.path.join(os.environ.get("HOME", "/tmp"), "kills")
    with open(count, "a+") as f:
        f.seek(0)
        kills = len(f.read())
        f.write("k")
    if kills < 6:
        os.kill(os.getppid(), signal.SIGKILL)
    raise RuntimeError("killed the grading process enough times")


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    results = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    pages: dict[str, str] = {}
    errors: dict[str, Exception] = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, Exception):
            errors[url] = result
        else:
            pages[url] = result
    return pages, errors
