"""Exercise 03 whose fetch_all fakes a passing report for its own test, in the form the test's
child sends it to the pytest worker, writes it to every file descriptor it holds, and exits
before the real report can follow. Tasks 1 and 3 are right.

docs/grading.md says a child faking its own test's report cannot be stopped in-process. Either
way, the tests that did not fake anything (tasks 1 and 3) must keep their own verdicts."""

import asyncio
import json
import os
from collections.abc import Awaitable, Callable

from _pytest.reports import TestReport


def _fake_pass() -> None:
    me = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0]
    passed = TestReport(me, (me, 0, me), {}, "passed", None, "call", [], duration=0.01)
    line = json.dumps({"event": "reports", "reports": [passed._to_json()]}) + "\n"
    for fd in os.listdir("/proc/self/fd"):
        try:
            os.write(int(fd), line.encode())
        except OSError:
            pass
    os._exit(0)


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
    _fake_pass()
    return []


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
