"""Exercise 04, a correct answer written differently: a bare-yield switch, an Event that
signals the start, and a TaskGroup."""

import asyncio
import time
import types


@types.coroutine
def _switch():
    yield  # a bare yield hands the loop over for one turn, just like asyncio.sleep(0)


async def worker(name, steps, log):
    step = 0
    while step < steps:
        step += 1
        log.append(name + str(step))
        await _switch()


async def launch(job):
    started = asyncio.Event()

    async def run():
        started.set()
        return await job()

    task = asyncio.create_task(run())
    await started.wait()
    return task


def run_in_turn(durations, log, sleep=time.sleep):
    for name in durations:
        log.append("start " + name)
        sleep(durations[name])
        log.append("end " + name)


async def run_at_once(durations, log, sleep=asyncio.sleep):
    async def job(name):
        log.append("start " + name)
        await sleep(durations[name])
        log.append("end " + name)

    async with asyncio.TaskGroup() as group:
        for name in durations:
            group.create_task(job(name))
