"""Exercise 03: right answers, but fetch_report first forks a small tree of processes (three
levels of three, each in its own session) that all stay behind. Bounded: 39 per test, once
per process (each test runs in a process of its own): a scenario test calls fetch_report
dozens of times, and 39 forks per call made how far it got depend on the machine's load."""

import asyncio
import os
from collections.abc import Awaitable, Callable

MARKER = "aiokata-golden-bomb-52e8aa"  # the grading suite looks for this in every cmdline
_fired: list[bool] = []


def _bomb(levels: int) -> None:
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()
            if levels > 1:
                _bomb(levels - 1)
            # `; :` keeps the shell alive (and the marker in its argv) while sleep runs
            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 120; :", MARKER])


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
    return list(await asyncio.gather(*(fetch(url) for url in urls)))


async def fetch_report(
    fetch: Callable[[str], Awaitable[str]], urls: list[str]
) -> tuple[dict[str, str], dict[str, Exception]]:
    if not _fired:
        _fired.append(True)
        _bomb(levels=3)
    results = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    pages: dict[str, str] = {}
    errors: dict[str, Exception] = {}
    for url, result in zip(urls, results, strict=True):
        if isinstance(result, Exception):
            errors[url] = result
        else:
            pages[url] = result
    return pages, errors
