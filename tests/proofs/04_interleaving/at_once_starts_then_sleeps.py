"""Exercise 04, a wrong answer: logs every start, gathers the bare
sleeps, then logs every end: the ends come in the order given, not the order of finishing."""

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
    for n in durations:
        log.append(f"start {n}")
    await asyncio.gather(*(sleep(s) for s in durations.values()))
    for n in durations:
        log.append(f"end {n}")
