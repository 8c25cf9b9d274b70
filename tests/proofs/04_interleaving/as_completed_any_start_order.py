"""Exercise 04, a correct answer written differently: sleep(0, result=None), a named task,
run_at_once through asyncio.as_completed, which starts the jobs in no particular order."""

import asyncio
import time


async def worker(name, steps, log):
    for i in range(steps):
        step = i + 1
        log.append(f"{name}{step}")
        await asyncio.sleep(0, result=None)


async def launch(job):
    coro = job()
    task = asyncio.create_task(coro, name="launched")
    while True:
        await asyncio.sleep(0)
        break
    return task


def run_in_turn(durations, log, sleep=time.sleep):
    for name, seconds in durations.items():
        log.append(f"start {name}")
        sleep(seconds)
        log.append(f"end {name}")


async def run_at_once(durations, log, sleep=asyncio.sleep):
    async def one(name, seconds):
        log.append(f"start {name}")
        await sleep(seconds)
        log.append(f"end {name}")
        return name

    running = [asyncio.ensure_future(one(n, s)) for n, s in durations.items()]
    try:
        for fut in asyncio.as_completed(running):
            await fut
    finally:
        for task in running:
            task.cancel()
