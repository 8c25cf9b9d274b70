"""Exercise 17, right: the spinner runs in a ThreadPoolExecutor and is waited for with its
future's result(); a TaskGroup owns the spinner task, with the job's exception kept out of the
group; the work in a plain Thread of its own (never joined: it ends with the work), its
concurrent.futures.Future awaited with asyncio.wrap_future; done callbacks and a threading.Event
instead of concurrent.futures.wait."""

import asyncio
import concurrent.futures
import threading
from typing import TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


def spin_in_thread(job, show, interval=0.1):
    done = threading.Event()

    def spin():
        k = 0
        while True:
            show(FRAMES[k])
            k = (k + 1) % 4
            if done.wait(interval):
                show("")
                return

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        fut = pool.submit(spin)
        try:
            return job()
        finally:
            done.set()
            fut.result()


async def spin_in_task(job, show, interval=0.1):
    async def spin():
        n = 0
        try:
            while True:
                show(FRAMES[n])
                n = (n + 1) % len(FRAMES)
                await asyncio.sleep(interval)
        finally:
            show("")

    outcome = {}
    async with asyncio.TaskGroup() as tg:
        spinner = tg.create_task(spin())
        try:
            outcome["r"] = await asyncio.to_thread(job)
        except Exception as e:
            outcome["e"] = e
        finally:
            spinner.cancel()
    if "e" in outcome:
        raise outcome["e"]
    return outcome["r"]


async def run_with_progress(work, on_progress):
    loop = asyncio.get_running_loop()
    cf = concurrent.futures.Future()
    state = {"over": False}

    def deliver(value):
        if not state["over"]:
            on_progress(value)

    def report(value):
        loop.call_soon_threadsafe(deliver, value)

    def runner():
        if not cf.set_running_or_notify_cancel():
            return
        try:
            cf.set_result(work(report))
        except BaseException as e:
            cf.set_exception(e)

    threading.Thread(target=runner, name="progress-worker").start()
    try:
        return await asyncio.wrap_future(cf, loop=loop)
    finally:
        state["over"] = True


def fetch_all_from_thread(loop, fetch, urls):
    urls = list(urls)
    if not urls:
        return []
    settled = threading.Event()
    lock = threading.Lock()
    left = [len(urls)]

    def on_done(f):
        with lock:
            left[0] -= 1
            failed = not f.cancelled() and f.exception() is not None
            if failed or left[0] == 0:
                settled.set()

    futures = []
    for u in urls:
        f = asyncio.run_coroutine_threadsafe(fetch(u), loop)
        futures.append(f)
    for f in futures:
        f.add_done_callback(on_done)
    settled.wait()
    for f in futures:
        if f.done() and not f.cancelled() and f.exception() is not None:
            for g in futures:
                g.cancel()
            raise f.exception()
    return [f.result() for f in futures]
