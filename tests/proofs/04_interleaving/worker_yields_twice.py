"""Exercise 04, a wrong answer: hands over twice after each step."""

import asyncio
import time


async def worker(name, steps, log):
    for i in range(1, steps + 1):
        log.append(f"{name}{i}")
        await asyncio.sleep(0)
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
    async def job(name, seconds):
        log.append(f"start {name}")
        await sleep(seconds)
        log.append(f"end {name}")

    await asyncio.gather(*(job(n, s) for n, s in durations.items()))
