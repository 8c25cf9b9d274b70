"""Exercise 04, a correct answer written differently: launch hands over by awaiting a future that
loop.call_soon resolves; gather over a list."""

import asyncio
import time


async def worker(name, steps, log):
    for i in range(1, steps + 1):
        log.append(f"{name}{i}")
        await asyncio.sleep(0)


async def launch(job):
    loop = asyncio.get_running_loop()
    task = loop.create_task(job())
    fut = loop.create_future()
    loop.call_soon(fut.set_result, None)
    await fut
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

    await asyncio.gather(*[one(*item) for item in durations.items()], return_exceptions=False)
