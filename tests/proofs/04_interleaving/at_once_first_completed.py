"""Exercise 04, a wrong answer: waits with
return_when=FIRST_COMPLETED, so run_at_once returns while jobs are still running."""

import asyncio
import time


async def worker(name, steps, log):
    for i in range(1, steps + 1):
        log.append(f"{name}{i}")
        await asyncio.sleep(0)


async def launch(job):
    task = asyncio.create_task(job())
    await asyncio.sleep(0)
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

    tasks = [asyncio.create_task(one(n, s)) for n, s in durations.items()]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
