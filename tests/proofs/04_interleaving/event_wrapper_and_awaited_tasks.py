"""Exercise 04, a correct answer written differently: steps from enumerate, launch through a
wrapper task that sets an Event, a pop-loop run_in_turn, tasks created then awaited in turn."""

import asyncio
import time


async def worker(name, steps, log):
    for i, label in enumerate([name] * steps, start=1):
        log.append(label + str(i))
        await asyncio.sleep(0)


async def launch(job):
    started = asyncio.Event()

    async def runner():
        started.set()
        return await job()

    task = asyncio.ensure_future(runner())
    await started.wait()
    return task


def run_in_turn(durations, log, sleep=time.sleep):
    items = list(durations.items())
    while items:
        name, seconds = items.pop(0)
        log.extend([f"start {name}"])
        sleep(seconds)
        log += [f"end {name}"]


async def run_at_once(durations, log, sleep=asyncio.sleep):
    async def one(name, seconds):
        log.append(f"start {name}")
        await sleep(seconds)
        log.append(f"end {name}")

    tasks = [asyncio.create_task(one(n, s)) for n, s in durations.items()]
    try:
        for t in tasks:
            await t
    finally:
        for t in tasks:
            t.cancel()
