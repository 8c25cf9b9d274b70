"""Exercise 17, right: a Thread subclass with a stop() method; run_in_executor with
try/except CancelledError; a thread of its own that hands its result over with
call_soon_threadsafe; one submitted coroutine that gathers tasks and cancels them on a failure."""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


class Spinner(threading.Thread):
    def __init__(self, show: Callable[[str], None], interval: float) -> None:
        super().__init__(name="spinner")
        self._show = show
        self._interval = interval
        self._stopping = threading.Event()

    def run(self) -> None:
        turn = 0
        while True:
            self._show(FRAMES[turn % len(FRAMES)])
            turn += 1
            if self._stopping.wait(self._interval):
                break
        self._show("")

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def spin_in_thread(job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1) -> T:
    spinner = Spinner(show, interval)
    spinner.start()
    try:
        result = job()
    except BaseException:
        spinner.stop()
        raise
    spinner.stop()
    return result


async def spin_in_task(
    job: Callable[[], T], show: Callable[[str], None], interval: float = 0.1
) -> T:
    async def spin() -> None:
        turn = 0
        try:
            while True:
                show(FRAMES[turn % 4])
                turn += 1
                await asyncio.sleep(interval)
        finally:
            show("")

    loop = asyncio.get_running_loop()
    spinner = loop.create_task(spin())
    try:
        return await loop.run_in_executor(None, job)
    finally:
        spinner.cancel()
        try:
            await spinner
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise


async def run_with_progress(
    work: Callable[[Callable[[object], None]], T], on_progress: Callable[[object], None]
) -> T:
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future = loop.create_future()
    state = {"open": True}

    def deliver(value: object) -> None:
        if state["open"]:
            on_progress(value)

    def settle(ok: bool, value: object) -> None:  # on the loop's thread
        if outcome.done():
            return
        if ok:
            outcome.set_result(value)
        else:
            outcome.set_exception(value)  # type: ignore[arg-type]

    def worker() -> None:
        try:
            result = work(lambda value: loop.call_soon_threadsafe(deliver, value))
        except Exception as exc:
            loop.call_soon_threadsafe(settle, False, exc)
        else:
            loop.call_soon_threadsafe(settle, True, result)

    threading.Thread(target=worker, name="worker", daemon=True).start()
    try:
        return await outcome
    finally:
        state["open"] = False


def fetch_all_from_thread(
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[str], Awaitable[str]],
    urls: Sequence[str],
) -> list[str]:
    wanted = list(urls)

    async def all_pages() -> list[str]:
        tasks = [asyncio.create_task(fetch(url)) for url in wanted]
        try:
            return list(await asyncio.gather(*tasks))
        finally:
            for task in tasks:
                task.cancel()

    return asyncio.run_coroutine_threadsafe(all_pages(), loop).result()
