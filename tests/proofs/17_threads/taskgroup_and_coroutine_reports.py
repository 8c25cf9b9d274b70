"""Exercise 17, right: a frame counter instead of itertools.cycle; a TaskGroup that owns the
spinner task; progress delivered by run_coroutine_threadsafe from the worker thread; a
FIRST_COMPLETED loop over the futures."""

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


def spin_in_thread(job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1) -> T:
    stop = threading.Event()

    def spin() -> None:
        count = 0
        while True:
            show(FRAMES[count % 4])
            count += 1
            if stop.wait(timeout=interval):
                show("")
                return

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        value = job()
    finally:
        stop.set()
        thread.join()
    return value


async def spin_in_task(
    job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1
) -> T:
    async def spin() -> None:
        count = 0
        try:
            while True:
                show(FRAMES[count % 4])
                count += 1
                await asyncio.sleep(interval)
        finally:
            show("")

    failure: Exception | None = None
    result = None
    async with asyncio.TaskGroup() as group:  # waits for the cancelled spinner on the way out
        spinner = group.create_task(spin())
        try:
            result = await asyncio.to_thread(job)
        except Exception as exc:
            failure = exc
        finally:
            spinner.cancel()
    if failure is not None:
        raise failure
    return result  # type: ignore[return-value]


async def run_with_progress(
    work: Callable[[Callable[[object], None]], T], on_progress: Callable[[object], None]
) -> T:
    loop = asyncio.get_running_loop()
    live = [True]

    async def deliver(value: object) -> None:
        if live[0]:
            on_progress(value)

    def report(value: object) -> None:
        # Each report becomes a task on the loop; tasks start in the order they are made.
        asyncio.run_coroutine_threadsafe(deliver(value), loop)

    try:
        result = await asyncio.to_thread(work, report)
        await asyncio.sleep(0)  # the last report's task starts on this turn of the loop
        return result
    finally:
        live[0] = False


def fetch_all_from_thread(
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[str], Awaitable[str]],
    urls: Sequence[str],
) -> list[str]:
    futures = [asyncio.run_coroutine_threadsafe(fetch(url), loop) for url in urls]
    pending = set(futures)
    try:
        while pending:
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                if future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
    finally:
        for future in pending:
            future.cancel()
