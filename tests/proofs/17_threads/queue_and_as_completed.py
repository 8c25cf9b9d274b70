"""Exercise 17, right: `while not done.wait(interval)` around the frames; the cancelled
spinner awaited, its CancelledError passed on only when the call itself is cancelled; an
asyncio.Queue fed with call_soon_threadsafe; concurrent.futures.as_completed, with cancel."""

import asyncio
import concurrent.futures
import itertools
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


def spin_in_thread(job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1) -> T:
    done = threading.Event()
    frames = itertools.cycle(FRAMES)

    def spin() -> None:
        show(next(frames))
        while not done.wait(interval):
            show(next(frames))
        show("")

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        return job()
    finally:
        done.set()
        spinner.join()


async def spin_in_task(
    job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1
) -> T:
    async def spin() -> None:
        frames = itertools.cycle(FRAMES)
        try:
            while True:
                show(next(frames))
                await asyncio.sleep(interval)
        except asyncio.CancelledError:
            show("")
            raise

    spinner = asyncio.create_task(spin())
    try:
        result = await asyncio.to_thread(job)
    except BaseException:
        spinner.cancel()
        await asyncio.wait({spinner})
        raise
    spinner.cancel()
    await asyncio.wait({spinner})
    return result


async def run_with_progress(
    work: Callable[[Callable[[object], None]], T], on_progress: Callable[[object], None]
) -> T:
    loop = asyncio.get_running_loop()
    messages: asyncio.Queue = asyncio.Queue()

    def report(value: object) -> None:
        loop.call_soon_threadsafe(messages.put_nowait, ("progress", value))

    def worker() -> None:
        try:
            result = work(report)
        except Exception as exc:
            loop.call_soon_threadsafe(messages.put_nowait, ("raised", exc))
        else:
            loop.call_soon_threadsafe(messages.put_nowait, ("returned", result))

    threading.Thread(target=worker, daemon=True).start()
    while True:  # cancelled, it stops reading: what comes later stays in the queue
        kind, value = await messages.get()
        if kind == "progress":
            on_progress(value)
        elif kind == "raised":
            raise value  # type: ignore[misc]
        else:
            return value  # type: ignore[return-value]


def fetch_all_from_thread(
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[str], Awaitable[str]],
    urls: Sequence[str],
) -> list[str]:
    futures = {asyncio.run_coroutine_threadsafe(fetch(url), loop): i for i, url in enumerate(urls)}
    pages: list[str] = [""] * len(futures)
    try:
        for future in concurrent.futures.as_completed(futures):
            pages[futures[future]] = future.result()  # the first failure is raised here
    finally:
        for future in futures:
            future.cancel()
    return pages
