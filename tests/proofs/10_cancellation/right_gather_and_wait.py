"""Exercise 10, right: an index spinner with `while True`, asyncio.wait for the spinner's end,
and asyncio.gather(return_exceptions=True) in cancel_and_wait."""

import asyncio

FRAMES = "|/-\\"


async def spinner(terminal, interval=0.1):
    shown = 0
    try:
        while True:
            terminal.show(FRAMES[shown % len(FRAMES)])
            shown += 1
            await asyncio.sleep(interval)
    finally:
        terminal.clear()


async def run_with_spinner(job, spin):
    spinning = asyncio.create_task(spin())
    try:
        return await job()
    finally:
        spinning.cancel()
        await asyncio.wait([spinning])  # raises only if we are cancelled ourselves


async def cancel_and_wait(task):
    task.cancel()
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        return True
    if isinstance(outcome, BaseException):
        raise outcome
    return False
