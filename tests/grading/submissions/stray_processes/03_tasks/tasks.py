"""Exercise 03: right answers, but make_breakfast leaves two processes behind each call: one
in a new session, one double-forked so that its parent is gone."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable

MARKER = "aiokata-golden-stray-7d41c9"  # the grading suite looks for this in every cmdline
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)", MARKER]


def _leave_behind() -> None:
    # One in a session of its own: killing the test's process group misses it.
    subprocess.Popen(SLEEPER, start_new_session=True, stdin=subprocess.DEVNULL)
    # One double-forked: its parent exits at once, so nobody waits for it.
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, SLEEPER)
        os._exit(0)


async def make_breakfast(
    brew_coffee: Callable[[], Awaitable[str]],
    toast_bread: Callable[[], Awaitable[str]],
) -> tuple[str, str]:
    _leave_behind()
    coffee_task = asyncio.create_task(brew_coffee())
    try:
        toast = await toast_bread()
        return await coffee_task, toast
    finally:
        coffee_task.cancel()  # does nothing once the coffee is ready; stops it if we are cancelled


async def fetch_all(fetch: Callable[[str], Awaitable[str]], urls: list[str]) -> list[str]:
    return list(await asyncio.gather(*(fetch(url) for url in urls)))


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
