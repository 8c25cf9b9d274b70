"""Exercise 17, wrong: one threading.Event at module level, cleared at the start of each call:
calls in a row work, but when one of two calls at once ends, it stops the other's spinner too."""

import asyncio
import concurrent.futures
import itertools
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


_done = threading.Event()  # the spinner's stop signal


def spin_in_thread(job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1) -> T:
    _done.clear()

    def spin() -> None:
        for frame in itertools.cycle(FRAMES):
            show(frame)
            if _done.wait(interval):
                break
        show("")

    spinner = threading.Thread(target=spin, name="spinner")
    spinner.start()
    try:
        return job()
    finally:
        _done.set()
        spinner.join()


async def spin_in_task(
    job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1
) -> T:
    async def spin() -> None:
        try:
            for frame in itertools.cycle(FRAMES):
                show(frame)
                await asyncio.sleep(interval)
        finally:
            show("")

    spinner = asyncio.create_task(spin())
    try:
        return await asyncio.to_thread(job)
    finally:
        spinner.cancel()
        await asyncio.wait([spinner])  # waits for its end without raising its CancelledError


async def run_with_progress(
    work: Callable[[Callable[[object], None]], T], on_progress: Callable[[object], None]
) -> T:
    loop = asyncio.get_running_loop()
    ended = False

    def deliver(value: object) -> None:  # on the loop's thread
        if not ended:
            on_progress(value)

    def report(value: object) -> None:  # in the worker thread
        loop.call_soon_threadsafe(deliver, value)

    try:
        # The result comes back through call_soon_threadsafe too, after every report.
        return await asyncio.to_thread(work, report)
    finally:
        ended = True


def fetch_all_from_thread(
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[str], Awaitable[str]],
    urls: Sequence[str],
) -> list[str]:
    futures = [asyncio.run_coroutine_threadsafe(fetch(url), loop) for url in urls]
    try:
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for future in futures:
            if future.done() and future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    finally:
        for future in futures:
            future.cancel()  # does nothing to a finished fetch; stops one still running
