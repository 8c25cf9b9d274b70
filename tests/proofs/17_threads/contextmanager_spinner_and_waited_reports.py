"""Exercise 17, right: the spinner thread as a context manager around the job; each report goes
through the other door, run_coroutine_threadsafe, and the worker waits for its result();
as_completed with cancel on a failure."""

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


@contextlib.contextmanager
def _spinning(show, interval):
    stop = threading.Event()

    def spin():
        for frame in itertools.cycle(FRAMES):
            show(frame)
            if stop.wait(interval):
                break
        show("")

    worker = threading.Thread(target=spin, name="spinner")
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()


def spin_in_thread(job, show, interval=0.1):
    with _spinning(show, interval):
        return job()


async def spin_in_task(job, show, interval=0.1):
    async def spin():
        try:
            i = 0
            while True:
                show(FRAMES[i % 4])
                i += 1
                await asyncio.sleep(interval)
        finally:
            show("")

    spinner = asyncio.create_task(spin())
    try:
        return await asyncio.to_thread(job)
    finally:
        spinner.cancel()
        await asyncio.wait([spinner])


async def run_with_progress(work, on_progress):
    loop = asyncio.get_running_loop()
    ended = False

    async def deliver(value):
        if not ended:
            on_progress(value)

    def report(value):
        asyncio.run_coroutine_threadsafe(deliver(value), loop).result()

    try:
        return await asyncio.to_thread(work, report)
    finally:
        ended = True


def fetch_all_from_thread(loop, fetch, urls):
    order = []
    for u in list(urls):
        f = asyncio.run_coroutine_threadsafe(fetch(u), loop)
        order.append(f)
    pages = [None] * len(order)
    index = {f: i for i, f in enumerate(order)}
    try:
        for f in concurrent.futures.as_completed(order):
            pages[index[f]] = f.result()
    except BaseException:
        for f in order:
            f.cancel()
        raise
    return pages
