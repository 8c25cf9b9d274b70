"""Exercise 17, right: a Condition and a flag instead of an Event for the spinner thread; a
spinner task that waits on an asyncio.Event with wait_for and a job in run_in_executor; a
threading.Event as the has-ended flag; concurrent.futures.as_completed, cancelling the rest on a
failure."""

import asyncio
import concurrent.futures
import threading
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


def spin_in_thread(job, show, interval=0.1):
    cond = threading.Condition()
    state = {"stop": False}

    def spin():
        import itertools

        try:
            for frame in itertools.cycle(FRAMES):
                show(frame)
                with cond:
                    if state["stop"]:
                        break
                    cond.wait_for(lambda: state["stop"], timeout=interval)
                    if state["stop"]:
                        break
        finally:
            show("")

    t = threading.Thread(target=spin, name="spinner")
    t.start()
    try:
        result = job()
    except BaseException:
        with cond:
            state["stop"] = True
            cond.notify_all()
        t.join()
        raise
    with cond:
        state["stop"] = True
        cond.notify_all()
    t.join()
    return result


async def spin_in_task(job, show, interval=0.1):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    async def spin():
        n = 0
        try:
            while not stop.is_set():
                show(FRAMES[n % len(FRAMES)])
                n += 1
                try:
                    await asyncio.wait_for(stop.wait(), interval)
                except TimeoutError:
                    pass
        finally:
            show("")

    spinner = asyncio.create_task(spin())
    try:
        return await loop.run_in_executor(None, job)
    finally:
        stop.set()
        spinner.cancel()
        await asyncio.wait({spinner})


async def run_with_progress(work, on_progress):
    loop = asyncio.get_running_loop()
    ended = threading.Event()

    def deliver(value):
        if not ended.is_set():
            on_progress(value)

    def report(value):
        loop.call_soon_threadsafe(deliver, value)

    try:
        return await loop.run_in_executor(None, work, report)
    finally:
        ended.set()


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
