"""Exercise 17, right: progress goes into an asyncio.Queue through call_soon_threadsafe, and a
pump task hands it to on_progress; at the end the pump is cancelled, not drained: the loop runs
callbacks in the order they came, so every report is in before the work's result."""

import asyncio
import concurrent.futures
import threading
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


def spin_in_thread(job, show, interval=0.1):
    done = threading.Event()

    def spin():
        i = 0
        while True:
            show(FRAMES[i % 4])
            i += 1
            if done.wait(interval):
                break
        show("")

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        return job()
    finally:
        done.set()
        spinner.join()


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
    q = asyncio.Queue()

    def report(value):
        loop.call_soon_threadsafe(q.put_nowait, value)

    async def pump():
        while True:
            on_progress(await q.get())

    pumper = asyncio.create_task(pump())
    try:
        return await asyncio.to_thread(work, report)
    finally:
        pumper.cancel()
        await asyncio.wait([pumper])


def fetch_all_from_thread(loop, fetch, urls):
    futures = [asyncio.run_coroutine_threadsafe(fetch(u), loop) for u in urls]
    try:
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
        return [f.result() for f in futures]
    finally:
        for f in futures:
            f.cancel()
